// A film clip's player (issue 19): colour/original toggle, before/after split, frame stepping, shots.
const player = document.getElementById("clip-player");
if (player) {
  const [num, den] = (player.dataset.fps || "24/1").split("/").map(Number);
  const fps = num / (den || 1);
  const frames = Number(player.dataset.frames) || 1;
  const original = document.getElementById("clip-original");
  const colour = document.getElementById("clip-colour");
  const playButton = document.getElementById("clip-play");
  const frameOut = document.getElementById("clip-frame");
  const toggle = document.getElementById("clip-toggle");
  const splitOn = document.getElementById("clip-split-on");
  const split = document.getElementById("clip-split");
  const showing = document.getElementById("clip-showing");
  const master = () => colour || original;
  const follower = () => (colour ? original : null);

  const frameOf = (time) => Math.min(frames - 1, Math.max(0, Math.floor(time * fps + 1e-3)));
  const showFrame = () => {
    frameOut.value = `Frame ${frameOf(master().currentTime) + 1} of ${frames}`;
    frameOut.textContent = frameOut.value;
    player.dataset.frame = String(frameOf(master().currentTime));
  };
  const sync = () => {
    const other = follower();
    if (other && Math.abs(other.currentTime - master().currentTime) > 0.5 / fps) {
      other.currentTime = master().currentTime;
    }
  };
  const seekFrame = (frame) => {
    const target = Math.min(frames - 1, Math.max(0, frame));
    for (const video of [original, colour]) {
      if (video) {
        video.pause();
        video.currentTime = (target + 0.5) / fps; // the middle of the frame: no rounding to its neighbour
      }
    }
    playButton.textContent = "Play";
  };

  const setMode = (mode) => {
    player.dataset.mode = mode;
    if (!colour) return;
    const split = mode === "split";
    colour.hidden = mode === "original";
    original.hidden = mode === "colour";
    player.classList.toggle("is-split", split);
    if (toggle) {
      toggle.setAttribute("aria-pressed", String(mode === "original"));
      toggle.textContent = mode === "original" ? "Show the colour" : "Show the original";
    }
    showing.textContent = {
      colour: "Showing the AI-colorized clip.",
      original: "Showing the original film, untouched.",
      split: "Colour (AI-colorized) left of the divider, the original right of it.",
    }[mode];
  };

  playButton.addEventListener("click", () => {
    const lead = master();
    if (lead.paused) {
      sync();
      lead.play();
      follower()?.play();
      playButton.textContent = "Pause";
    } else {
      lead.pause();
      follower()?.pause();
      playButton.textContent = "Play";
    }
  });
  document.getElementById("clip-prev").addEventListener("click", () => seekFrame(frameOf(master().currentTime) - 1));
  document.getElementById("clip-next").addEventListener("click", () => seekFrame(frameOf(master().currentTime) + 1));
  for (const button of document.querySelectorAll("#shot-list .keyframe")) {
    button.addEventListener("click", () => seekFrame(Number(button.dataset.frame)));
  }
  master().addEventListener("timeupdate", () => {
    showFrame();
    sync();
  });
  master().addEventListener("seeked", showFrame);
  master().addEventListener("ended", () => {
    playButton.textContent = "Play";
  });
  toggle?.addEventListener("click", () => setMode(player.dataset.mode === "original" ? "colour" : "original"));
  splitOn?.addEventListener("change", () => {
    split.hidden = !splitOn.checked;
    setMode(splitOn.checked ? "split" : "colour");
  });
  split?.addEventListener("input", () => {
    player.style.setProperty("--position", `${split.value}%`);
    split.setAttribute("aria-valuetext", `${split.value}% colour shown`);
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select")) return;
    if (event.key === ",") seekFrame(frameOf(master().currentTime) - 1);
    if (event.key === ".") seekFrame(frameOf(master().currentTime) + 1);
  });
  setMode(player.dataset.mode);
  showFrame();
}
