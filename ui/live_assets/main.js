// main.js -- last of the in-page model's files: the component's entry point (export default). Python
// (ui/live.py) mounts the one component in a mode of MODES (modes/*.js). A model's weights arrive once per
// browser session and are cached in window.__vaeLive.models under the model's key (buildModel, mlp.js, which
// also picks the family's head and renderer from the payload); later mounts send only the key. If a mount
// finds neither, it asks Python for them with the "need" trigger.

const INSTANCES = new WeakMap();
let NEXT_ID = 0;

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  const api = { setStateValue, setTriggerValue };
  let inst = INSTANCES.get(parentElement);
  if (!inst) {
    inst = { id: "vl" + NEXT_ID++, root: document.createElement("div") };
    inst.root.className = "vae-live";
    parentElement.appendChild(inst.root);
    INSTANCES.set(parentElement, inst);
  }
  if (!data || !data.model) return;
  const key = data.model.key;
  if (data.model.weights && !G.models[key]) {
    try { G.models[key] = buildModel(data.model.weights); }
    catch (err) { inst.root.textContent = "This model could not be loaded in the page: " + err.message; return; }
  }
  const m = G.models[key];
  // Same model and the same view as before: nothing to rebuild (Python re-sends data on reruns).
  // A decoder view given only a new start code (z0) keeps its DOM and moves its z there.
  const { z0, ...rest } = data;
  const sig = JSON.stringify({ ...(data.mode === "decoder" ? rest : data), model: key });
  if (m && inst.sig === sig) {
    if (data.mode === "decoder" && JSON.stringify(z0) !== JSON.stringify(inst.z0) && inst.root.__setZ) {
      inst.z0 = z0;
      inst.root.__setZ(z0);
    }
    return () => inst.cleanup && inst.cleanup();
  }
  inst.z0 = z0;
  if (inst.cleanup) inst.cleanup();
  inst.cleanup = null;
  inst.root.replaceChildren();
  for (const a of ["data-frames", "data-z", "data-decode-ms", "data-mu", "data-logvar", "data-t", "data-method", "data-z0", "data-z1"]) inst.root.removeAttribute(a);
  if (!m) {
    inst.sig = null;
    inst.root.textContent = "Loading the model into the page\u2026";
    if (!G.requested[key]) { G.requested[key] = true; setTriggerValue("need", key); }
    return;
  }
  inst.sig = sig;
  inst.root.__live = null;
  inst.root.__setZ = null;
  inst.root.setAttribute("data-model", key);
  inst.root.setAttribute("data-frames", "0");
  if (!MODES[data.mode]) { inst.root.textContent = "This page has no view " + JSON.stringify(data.mode) + "."; return; }
  MODES[data.mode](inst, data, m, api);
  return () => { if (inst.cleanup) inst.cleanup(); };
}
