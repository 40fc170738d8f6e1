// Before/after sliders outside the photo page (the correction page): each [data-compare] figure holds
// a .compare with two images and a range input; the top image is clipped at the slider's position.
for (const figure of document.querySelectorAll("[data-compare]")) {
  const compare = figure.querySelector(".compare");
  const range = figure.querySelector("input[type=range]");
  if (!compare || !range) continue;
  const set = () => {
    compare.style.setProperty("--position", `${range.value}%`);
    range.setAttribute("aria-valuetext", `${range.value}% of this correction shown`);
  };
  range.addEventListener("input", set);
  set();
}
