// Drag-and-drop upload of many files, one request per file with its own progress bar.
// Without JavaScript the form posts normally and the server handles the batch.
const form = document.getElementById("upload-form");
const dropzone = document.getElementById("dropzone");
const input = form.querySelector('input[type="file"]');
const list = document.getElementById("file-list");
const csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
let queue = [];

function describe(file) {
  const item = document.createElement("li");
  item.className = "file-item";
  const name = document.createElement("span");
  name.textContent = `${file.name} (${(file.size / 1e6).toFixed(1)} MB)`;
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute("aria-label", `Upload progress for ${file.name}`);
  const status = document.createElement("span");
  status.className = "file-status";
  status.textContent = "Waiting";
  item.append(name, bar, status);
  list.append(item);
  return { file, bar, status };
}

function addFiles(files) {
  for (const file of files) queue.push(describe(file));
}

function titleFrom(filename) {
  return filename.replace(/\.[^.]+$/, "").replace(/[_-]+/g, " ").slice(0, 300);
}

function sendOne(entry) {
  return new Promise((resolve) => {
    const data = new FormData();
    for (const [key, value] of new FormData(form).entries()) {
      if (key === "images" || key === "csrfmiddlewaretoken") continue;
      if (value !== "") data.append(key, value);
    }
    if (!data.get("title")) data.set("title", titleFrom(entry.file.name));
    data.append("image", entry.file, entry.file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.api);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) entry.bar.value = Math.round((event.loaded / event.total) * 100);
    });
    entry.status.textContent = "Uploading…";
    xhr.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { body = { detail: `Server answered ${xhr.status}` }; }
      if (xhr.status === 201 || xhr.status === 200) {
        entry.bar.value = 100;
        entry.status.className = "file-status is-done";
        entry.status.innerHTML = "";
        const link = document.createElement("a");
        link.href = body.page_url;
        link.textContent = body.title;
        entry.status.append(xhr.status === 200 ? "Already here (not duplicated): " : "Uploaded: ", link);
      } else {
        entry.status.className = "file-status is-error";
        entry.status.textContent = body.detail || `Upload failed (${xhr.status}).`;
      }
      resolve();
    });
    xhr.addEventListener("error", () => {
      entry.status.className = "file-status is-error";
      entry.status.textContent = "The connection failed. Your file was not uploaded; try again.";
      resolve();
    });
    xhr.send(data);
  });
}

dropzone.addEventListener("dragover", (event) => { event.preventDefault(); dropzone.classList.add("is-dragover"); });
dropzone.addEventListener("dragleave", () => dropzone.classList.remove("is-dragover"));
dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropzone.classList.remove("is-dragover");
  addFiles(event.dataTransfer.files);
});
input.addEventListener("change", () => { addFiles(input.files); });

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!queue.length) {
    list.innerHTML = '<li class="file-status is-error">Choose or drop at least one photograph first.</li>';
    return;
  }
  const button = document.getElementById("upload-button");
  button.disabled = true;
  const pending = queue;
  queue = [];
  input.value = "";
  for (const entry of pending) await sendOne(entry);  // one at a time: a fair share of the server
  button.disabled = false;
});
