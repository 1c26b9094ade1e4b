"""The page at ``GET /``: pick a model, drop an image, see the top 5 as bars.

Plain HTML and a little JavaScript, no external files: it lists ``/models`` and posts
the dropped file as the raw body of ``/predictions/{name}``.
"""

__all__ = ["page_html"]

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gluon-resnet serve</title>
<style>
body { font-family: sans-serif; max-width: 40em; margin: 2em auto; color: #222; }
#drop { border: 3px dashed #888; border-radius: 8px; padding: 2em; text-align: center; }
#drop.over { border-color: #2b6cb0; background: #eef4fb; }
.row { display: flex; align-items: center; margin: 0.3em 0; }
.label { width: 12em; overflow: hidden; white-space: nowrap; }
.track { flex: 1; background: #eee; height: 1.4em; }
.bar { background: #2b6cb0; height: 100%; }
.prob { width: 5em; text-align: right; }
#error { color: #b00; }
</style></head><body>
<h1>gluon-resnet serve</h1>
<p><label>Model <select id="model"></select></label>TOKEN_FIELD</p>
<div id="drop">Drop a PNG or JPEG here, or <input type="file" id="file"
 accept="image/png,image/jpeg"></div>
<p id="error"></p>
<div id="results"></div>
<script>
const $ = (id) => document.getElementById(id);
function headers() {
  const t = $("token");
  return t && t.value ? {"Authorization": "Bearer " + t.value} : {};
}
async function listModels() {
  const r = await fetch("/models", {headers: headers()});
  if (!r.ok) { $("error").textContent = "GET /models: " + r.status; return; }
  $("model").replaceChildren(...(await r.json()).models.map((m) => {
    const o = document.createElement("option");
    o.value = o.textContent = m.name;
    return o;
  }));
}
async function classify(file) {
  $("error").textContent = "";
  $("results").replaceChildren();
  const r = await fetch("/predictions/" + encodeURIComponent($("model").value) + "?topk=5",
                        {method: "POST", body: file, headers: headers()});
  const doc = await r.json();
  if (!r.ok) { $("error").textContent = r.status + ": " + doc.error; return; }
  $("results").replaceChildren(...doc.predictions.map((p) => {
    const row = document.createElement("div");
    row.className = "row";
    row.innerHTML = '<span class="label"></span><span class="track"><div class="bar">' +
                    '</div></span><span class="prob"></span>';
    row.querySelector(".label").textContent = p.class;
    row.querySelector(".bar").style.width = (100 * p.prob).toFixed(2) + "%";
    row.querySelector(".prob").textContent = (100 * p.prob).toFixed(1) + "%";
    return row;
  }));
}
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  if (e.dataTransfer.files.length) classify(e.dataTransfer.files[0]);
});
$("file").addEventListener("change", (e) => {
  if (e.target.files.length) classify(e.target.files[0]);
});
TOKEN_LISTENER
listModels();
</script></body></html>
"""

_TOKEN_FIELD = ' <label>Token <input type="password" id="token"></label>'
_TOKEN_LISTENER = '$("token").addEventListener("change", listModels);'


def page_html(token=False):
    """The page; with ``token``, a field for the bearer token the server needs."""
    return (_PAGE.replace("TOKEN_FIELD", _TOKEN_FIELD if token else "")
            .replace("TOKEN_LISTENER", _TOKEN_LISTENER if token else ""))
