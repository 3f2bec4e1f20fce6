// A file input with data-fills="ID" puts the chosen file's text into the text area ID (and
// its name into the field data-name names), so a page takes a YAML file through its ordinary
// URL-encoded form, no multipart upload; several files are joined as YAML documents ("---").
// A file, not an inline script: the pages' Content-Security-Policy forbids inline scripts.
document.addEventListener("change", function (event) {
  var input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "file" || !input.dataset.fills) {
    return;
  }
  var area = document.getElementById(input.dataset.fills);
  var name = input.dataset.name ? document.getElementById(input.dataset.name) : null;
  var files = Array.prototype.slice.call(input.files || []);
  if (!area || files.length === 0) {
    return;
  }
  Promise.all(files.map(function (file) { return file.text(); })).then(function (texts) {
    area.value = texts.join("\n---\n");
    if (name) {
      name.value = files.length === 1 ? files[0].name : "";
    }
  });
});
