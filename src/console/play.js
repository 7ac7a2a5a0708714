// Starts the asciinema player on every element that names a recording (no inline script: CSP), and
// wires the page's own Play/Pause button to it: a real <button>, so the keyboard alone plays it.
for (const el of document.querySelectorAll("[data-cast]")) {
  // AsciinemaPlayer: a global the player bundle (loaded before this script) defines.
  const player = AsciinemaPlayer.create(el.dataset.cast, el, {
    fit: "width",
    idleTimeLimit: 2,
    preload: true,
    controls: true,
  });
  const button = document.querySelector(`[data-player-toggle="${el.id.replace(/^player-/, "")}"]`);
  if (!button) continue;
  let playing = false;
  const show = () => {
    button.textContent = playing ? "Pause" : "Play";
  };
  player.addEventListener("play", () => {
    playing = true;
    show();
  });
  player.addEventListener("playing", () => {
    playing = true;
    show();
  });
  player.addEventListener("pause", () => {
    playing = false;
    show();
  });
  player.addEventListener("ended", () => {
    playing = false;
    button.textContent = "Play again";
  });
  button.addEventListener("click", () => {
    if (playing) player.pause();
    else player.play();
  });
  button.disabled = false;
}
