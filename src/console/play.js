// Starts the asciinema player on every element that names a recording (no inline script: CSP).
for (const el of document.querySelectorAll("[data-cast]")) {
  // AsciinemaPlayer: a global the player bundle (loaded before this script) defines.
  AsciinemaPlayer.create(el.dataset.cast, el, {
    fit: "width",
    idleTimeLimit: 2,
    preload: true,
    controls: true,
  });
}
