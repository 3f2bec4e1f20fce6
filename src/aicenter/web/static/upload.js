// The upload form of /uploads (pages_upload.py). A file, not an inline script: the pages'
// Content-Security-Policy allows scripts from this server only.
//
// 1. A file over the center's limit (data-max-bytes) is refused here, without sending it.
// 2. POST /uploads/check with the form's fields and no body: the center refuses at once what
//    it would refuse before reading a file (permission, name, licence, format).
// 3. POST /uploads with the same fields and the file as the raw body, showing its progress.
//    Both requests carry the session's CSRF token in the X-CSRF-Token header.
// 4. On success, open the upload's page (it follows the scan); on a refusal, say why.
// The texts shown come from the form's data attributes, translated by the server.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) {
    return;
  }
  var texts = form.dataset;
  var progress = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  var error = document.getElementById("upload-error");
  var button = form.querySelector("button[type=submit]");

  function say(text) {
    status.textContent = text;
  }

  function fail(text) {
    say("");
    progress.hidden = true;
    error.textContent = text;
    error.hidden = false;
    button.disabled = false;
  }

  function reason(xhr) {
    // The API's error body ({"error", "detail", "field"?}) when the center sent one.
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && typeof body.detail === "string") {
        return body.field ? body.field + ": " + body.detail : body.detail;
      }
    } catch (ignored) {
      // not JSON: a page (an expired session or form); say so below
    }
    return texts.failed.replace("{status}", String(xhr.status || "-"));
  }

  function fields(file) {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (key !== "csrf_token" && typeof value === "string") {
        params.append(key, value);
      }
    });
    params.set("filename", file.name);
    return params.toString();
  }

  function request(url, then) {
    var xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRF-Token", form.elements.csrf_token.value);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.onload = function () {
      then(xhr);
    };
    xhr.onerror = function () {
      fail(texts.failed.replace("{status}", "-"));
    };
    return xhr;
  }

  function answer(xhr) {
    try {
      return JSON.parse(xhr.responseText);
    } catch (ignored) {
      return null;
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    var file = form.elements.file.files[0];
    if (!file) {
      return;
    }
    if (file.size > Number(texts.maxBytes)) {
      fail(texts.tooLarge);
      return;
    }
    var query = fields(file);
    button.disabled = true;
    say(texts.checking);
    request("/uploads/check?" + query, function (checked) {
      var ok = answer(checked);
      if (checked.status !== 200 || !ok || ok.ok !== true) {
        fail(reason(checked));
        return;
      }
      var send = request("/uploads?" + query, function (sent) {
        var made = answer(sent);
        if (sent.status !== 201 || !made || !made.url) {
          fail(reason(sent));
          return;
        }
        progress.value = 100;
        say(texts.done);
        window.location.assign(made.url);
      });
      send.upload.onprogress = function (e) {
        if (e.lengthComputable && e.total > 0) {
          var percent = Math.floor((100 * e.loaded) / e.total);
          progress.value = percent;
          say(texts.sending.replace("{percent}", percent + "%"));
        }
      };
      progress.value = 0;
      progress.hidden = false;
      send.setRequestHeader("Content-Type", "application/octet-stream");
      send.send(file);
    }).send();
  });
})();
