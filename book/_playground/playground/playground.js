/* The VMP layer, live in the browser: frame differences -> sigmoid attention -> motion prompts.
 *
 * Everything runs in this page: no server, no kernel, no script from elsewhere. The gray weights,
 * the slope and shift bounds and the preset values come from window.VMP_CONSTANTS, which the book's
 * build writes from the vmp package (vmp.book.playground). Frames are 8-bit RGB, drawn at 320 x 240.
 *
 *   G_t = (w_R R + w_G G + w_B B) / 255        gray, in [0, 1]
 *   D_t = G_t - G_(t-1)                        signed difference
 *   A_t = 1 / (1 + exp(-a (D_t - b)))          attention
 *   P_t = A_t * F_t                            motion prompt, F_t normalised about the mean colour m
 *                                              as a backbone reads it (chapter 3), shown back in
 *                                              pixels as m + A_t (x - m): attention 0 shows m, not black
 *   TAV = mean over the last pairs of mean((A_t - A_(t-1))^2)
 */
(function () {
  "use strict";
  var C = window.VMP_CONSTANTS;
  var root = document.getElementById("vmp-playground");
  if (!root || !C) { return; }
  var W = 320, H = 240, N = W * H, TAV_PAIRS = 8, D_RANGE = 0.25;
  var MEAN = C.prompt_mean.map(function (m) { return 255 * m; });  // the prompt's zero, in 8-bit units
  var state = {
    slope: C.default_start[0], shift: C.default_start[1], gray: false, source: null, paused: false,
    previous: null, current: null, previousGray: null, currentGray: null, difference: new Float64Array(N),
    attention: new Float64Array(N), lastAttention: null, tav: [], frames: 0, fps: 0, stamps: []
  };

  // ---- the page's parts ----------------------------------------------------------------------
  function element(tag, attributes, parent, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) { node.textContent = text; }
    if (parent) { parent.appendChild(node); }
    return node;
  }
  var sources = element("div", {"class": "vmp-pg-row"}, root);
  var cameraButton = element("button", {id: "vmp-pg-camera", type: "button"}, sources, "Use my camera");
  var fileLabel = element("label", {}, sources, "A video file: ");
  var fileInput = element("input", {id: "vmp-pg-file", type: "file", accept: "video/*"}, fileLabel);
  var sampleLabel = element("label", {}, sources, "A sample clip: ");
  var sampleSelect = element("select", {id: "vmp-pg-sample"}, sampleLabel);
  [["", "(choose)"], ["bikes.webm", "street (bikes)"], ["bigbuckbunny.webm", "animation (Big Buck Bunny)"],
   ["carphone.webm", "car phone (moving background)"]].forEach(function (pair) {
    element("option", {value: pair[0]}, sampleSelect, pair[1]);
  });
  var pauseButton = element("button", {id: "vmp-pg-pause", type: "button"}, sources, "Pause");

  var controls = element("div", {"class": "vmp-pg-row"}, root);
  function slider(id, name, min, max, value) {
    var label = element("label", {"for": id}, controls, name + " ");
    var input = element("input", {id: id, type: "range", min: min, max: max, step: "0.001", value: value,
                                  "aria-label": name}, label);
    var output = element("output", {id: id + "-value", "for": id}, label);
    return [input, output];
  }
  // the bounds of vmp.MotionPrompt: slope in (slope_min, slope_max], |shift| < shift_bound
  var slopeParts = slider("vmp-pg-slope", "slope a", (C.slope_min + 0.001).toFixed(3), C.slope_max, state.slope);
  var shiftParts = slider("vmp-pg-shift", "shift b", (-C.shift_bound + 0.001).toFixed(3),
                          (C.shift_bound - 0.001).toFixed(3), state.shift);
  var grayLabel = element("label", {}, controls, " ");
  var grayBox = element("input", {id: "vmp-pg-gray", type: "checkbox"}, grayLabel);
  grayLabel.appendChild(document.createTextNode(" gray-scale colours"));

  var presets = element("div", {"class": "vmp-pg-row", id: "vmp-pg-presets"}, root);
  element("span", {}, presets, "Load: ");
  function preset(label, slope, shift) {
    var button = element("button", {type: "button", "data-slope": slope, "data-shift": shift}, presets, label);
    button.addEventListener("click", function () { setLayer(slope, shift); });
  }
  preset("the book's start (" + C.default_start[0] + ", " + C.default_start[1] + ")", C.default_start[0], C.default_start[1]);
  Object.keys(C.book).forEach(function (name) {
    preset(name + ", fine-tuned (" + C.book[name][0].toFixed(1) + ", " + C.book[name][1].toFixed(2) + ")",
           C.book[name][0], C.book[name][1]);
  });
  C.authors.forEach(function (entry) {  // [λ, slope, shift], in order of λ
    preset("authors, λ = " + entry[0] + " (" + entry[1].toFixed(1) + ", " + entry[2].toFixed(2) + ")", entry[1], entry[2]);
  });

  var panels = element("div", {"class": "vmp-pg-panels"}, root);
  function panel(id, caption, bar) {
    var figure = element("figure", {"class": "vmp-pg-panel"}, panels);
    var canvas = element("canvas", {id: id, width: W, height: H}, figure);
    var colorbar = bar ? element("canvas", {id: id + "-bar", width: W, height: 14, "class": "vmp-pg-bar"}, figure) : null;
    var ticks = bar ? element("div", {"class": "vmp-pg-ticks"}, figure, bar) : null;
    element("figcaption", {}, figure, caption);
    return {canvas: canvas, context: canvas.getContext("2d", {willReadFrequently: true}), bar: colorbar};
  }
  var framePanel = panel("vmp-pg-frame", "frame F_t");
  var differencePanel = panel("vmp-pg-difference", "signed gray difference D_t",
                              "−" + D_RANGE + "   darker · 0 · brighter   +" + D_RANGE);
  var attentionPanel = panel("vmp-pg-attention", "attention A_t = σ(a (D_t − b))", "0 · · · 1");
  var promptPanel = panel("vmp-pg-prompt", "motion prompt A_t ⊙ F_t");

  var readout = element("div", {"class": "vmp-pg-row"}, root);
  element("span", {}, readout, "TAV over the last " + TAV_PAIRS + " pairs: ");
  var tavOutput = element("output", {id: "vmp-pg-tav"}, readout, "–");
  var tavPlot = element("canvas", {id: "vmp-pg-tav-plot", width: 160, height: 30}, readout);
  element("span", {}, readout, " frames per second: ");
  var fpsOutput = element("output", {id: "vmp-pg-fps"}, readout, "–");
  var status = element("p", {id: "vmp-pg-status", role: "status"}, root, "Choose a source: your camera, a file or a sample clip.");

  var video = element("video", {muted: "", playsinline: "", loop: "", "class": "vmp-pg-video"}, root);
  video.muted = true;
  var grab = document.createElement("canvas");
  grab.width = W; grab.height = H;
  var grabContext = grab.getContext("2d", {willReadFrequently: true});

  // ---- colours ---------------------------------------------------------------------------------
  function diverging(value, out, i) {  // blue (darker) - white (0) - red (brighter)
    var t = Math.max(-1, Math.min(1, value / D_RANGE));
    if (state.gray) { var g = Math.round(127.5 + 127.5 * t); out[i] = out[i + 1] = out[i + 2] = g; return; }
    if (t < 0) { out[i] = Math.round(255 * (1 + t)); out[i + 1] = Math.round(255 * (1 + t)); out[i + 2] = 255; }
    else { out[i] = 255; out[i + 1] = Math.round(255 * (1 - t)); out[i + 2] = Math.round(255 * (1 - t)); }
  }
  function sequential(value, out, i) {  // black - purple - orange - pale yellow, or gray
    var t = Math.max(0, Math.min(1, value));
    if (state.gray) { out[i] = out[i + 1] = out[i + 2] = Math.round(255 * t); return; }
    out[i] = Math.round(255 * Math.min(1, 1.6 * t));
    out[i + 1] = Math.round(255 * Math.max(0, t * t * 1.1 - 0.1));
    out[i + 2] = Math.round(255 * (t < 0.5 ? 0.2 + t : 0.7 - 0.5 * (t - 0.5)));
  }
  function drawBars() {
    [[differencePanel.bar, function (x) { return (2 * x - 1) * D_RANGE; }, diverging],
     [attentionPanel.bar, function (x) { return x; }, sequential]].forEach(function (entry) {
      var context = entry[0].getContext("2d"), image = context.createImageData(W, 14);
      for (var x = 0; x < W; x++) {
        for (var y = 0; y < 14; y++) {
          var i = 4 * (y * W + x);
          entry[2](entry[1](x / (W - 1)), image.data, i);
          image.data[i + 3] = 255;
        }
      }
      context.putImageData(image, 0, 0);
    });
  }

  // ---- the layer ---------------------------------------------------------------------------------
  function grayOf(pixels) {
    var gray = new Float64Array(N), wr = C.bt601[0], wg = C.bt601[1], wb = C.bt601[2];
    for (var p = 0, i = 0; p < N; p++, i += 4) { gray[p] = (wr * pixels[i] + wg * pixels[i + 1] + wb * pixels[i + 2]) / 255; }
    return gray;
  }
  function computeLayer() {  // attention from the stored frames, at the current slope and shift
    if (!state.previous || !state.current) { return false; }
    var gray = state.currentGray, a = state.slope, b = state.shift;
    for (var p = 0; p < N; p++) {
      var d = gray[p] - state.previousGray[p];
      state.difference[p] = d;
      state.attention[p] = 1 / (1 + Math.exp(-a * (d - b)));
    }
    return true;
  }
  function render() {
    var frame = framePanel.context.createImageData(W, H), diff = differencePanel.context.createImageData(W, H);
    var att = attentionPanel.context.createImageData(W, H), prompt = promptPanel.context.createImageData(W, H);
    for (var p = 0, i = 0; p < N; p++, i += 4) {
      var A = state.attention[p];
      for (var c = 0; c < 3; c++) { frame.data[i + c] = state.current[i + c]; prompt.data[i + c] = Math.round(MEAN[c] + A * (state.current[i + c] - MEAN[c])); }
      diverging(state.difference[p], diff.data, i);
      sequential(A, att.data, i);
      frame.data[i + 3] = diff.data[i + 3] = att.data[i + 3] = prompt.data[i + 3] = 255;
    }
    framePanel.context.putImageData(frame, 0, 0);
    differencePanel.context.putImageData(diff, 0, 0);
    attentionPanel.context.putImageData(att, 0, 0);
    promptPanel.context.putImageData(prompt, 0, 0);
  }
  function updateTav() {
    if (state.lastAttention) {
      var sum = 0;
      for (var p = 0; p < N; p++) { var change = state.attention[p] - state.lastAttention[p]; sum += change * change; }
      state.tav.push(sum / N);
      if (state.tav.length > TAV_PAIRS) { state.tav.shift(); }
    }
    state.lastAttention = Float64Array.from(state.attention);
    if (!state.tav.length) { return; }
    var mean = state.tav.reduce(function (s, v) { return s + v; }, 0) / state.tav.length;
    tavOutput.textContent = mean.toExponential(2);
    var context = tavPlot.getContext("2d"), top = Math.max.apply(null, state.tav) || 1;
    context.clearRect(0, 0, 160, 30);
    context.strokeStyle = state.gray ? "#000" : "#b5179e";
    context.beginPath();
    state.tav.forEach(function (v, k) { context[k ? "lineTo" : "moveTo"](k * 160 / (TAV_PAIRS - 1), 29 - 27 * v / top); });
    context.stroke();
  }
  function step() {  // one new frame: grab it, difference it with the last, attend, show
    grabContext.drawImage(video, 0, 0, W, H);
    var pixels = grabContext.getImageData(0, 0, W, H).data;
    state.previous = state.current;
    state.previousGray = state.currentGray;
    state.current = new Uint8ClampedArray(pixels);
    state.currentGray = grayOf(state.current);
    state.frames += 1;
    if (computeLayer()) { render(); updateTav(); }
    var now = performance.now();
    state.stamps.push(now);
    while (state.stamps.length && now - state.stamps[0] > 1000) { state.stamps.shift(); }
    state.fps = state.stamps.length;
    fpsOutput.textContent = String(state.fps);
  }
  var lastTime = -1;
  // one step per new video frame: the browser says when one is presented (requestVideoFrameCallback);
  // where it cannot, a frame is new when the video's time has moved
  var perFrame = "requestVideoFrameCallback" in HTMLVideoElement.prototype;
  function onFrame() {
    if (!state.paused && video.readyState >= 2) { step(); }
    video.requestVideoFrameCallback(onFrame);
  }
  function loop() {
    if (!state.paused && video.readyState >= 2 && video.currentTime !== lastTime) { lastTime = video.currentTime; step(); }
    window.requestAnimationFrame(loop);
  }

  // ---- controls ----------------------------------------------------------------------------------
  function show() {
    slopeParts[0].value = state.slope; shiftParts[0].value = state.shift;
    slopeParts[1].textContent = Number(state.slope).toFixed(2);
    shiftParts[1].textContent = (state.shift >= 0 ? "+" : "") + Number(state.shift).toFixed(3);
    if (computeLayer()) { render(); }
  }
  function setLayer(slope, shift) {
    state.slope = Math.min(C.slope_max, Math.max(C.slope_min + 0.001, Number(slope)));
    state.shift = Math.min(C.shift_bound - 0.001, Math.max(-C.shift_bound + 0.001, Number(shift)));
    show();
  }
  slopeParts[0].addEventListener("input", function () { setLayer(slopeParts[0].value, state.shift); });
  shiftParts[0].addEventListener("input", function () { setLayer(state.slope, shiftParts[0].value); });
  grayBox.addEventListener("change", function () { state.gray = grayBox.checked; drawBars(); if (state.current) { render(); } });
  pauseButton.addEventListener("click", function () {
    state.paused = !state.paused;
    pauseButton.textContent = state.paused ? "Play" : "Pause";
    if (state.paused) { video.pause(); } else { video.play(); }
  });
  function play(source, description) {
    state.previous = state.current = state.previousGray = state.currentGray = state.lastAttention = null; state.tav = []; state.frames = 0; lastTime = -1;
    state.source = description;
    video.play().then(function () { status.textContent = "Showing " + description + "."; },
                      function (error) { status.textContent = "Could not play " + description + ": " + error.message; });
  }
  cameraButton.addEventListener("click", function () {  // the camera is asked for only here, after a click
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { status.textContent = "This browser offers no camera."; return; }
    navigator.mediaDevices.getUserMedia({video: {width: W, height: H}, audio: false}).then(function (stream) {
      video.removeAttribute("src"); video.srcObject = stream; play(stream, "your camera");
    }, function (error) { status.textContent = "No camera: " + error.message; });
  });
  fileInput.addEventListener("change", function () {  // the file is read here, never sent anywhere
    var file = fileInput.files[0];
    if (!file) { return; }
    video.srcObject = null; video.src = URL.createObjectURL(file); play(file, "the file " + file.name);
  });
  sampleSelect.addEventListener("change", function () {
    if (!sampleSelect.value) { return; }
    video.srcObject = null; video.src = clipsBase + sampleSelect.value; play(null, "the sample clip " + sampleSelect.value);
  });
  var here = document.querySelector('script[src$="playground/playground.js"]');
  var clipsBase = here ? here.getAttribute("src").replace(/playground\.js$/, "clips/") : "clips/";

  // for readers' tools and the book's tests: what the page computed, and how fast it can compute
  window.vmpPlayground = {
    state: function () {
      return {slope: state.slope, shift: state.shift, width: W, height: H, frames: state.frames, fps: state.fps,
              source: state.source, previous: state.previous ? Array.from(state.previous) : null,
              current: state.current ? Array.from(state.current) : null,
              attention: state.current && state.previous ? Array.from(state.attention) : null,
              tav: state.tav.slice()};
    },
    setLayer: setLayer,
    benchmark: function (count) {  // frames per second of the whole pipeline: grab, layer, draw, TAV
      var start = performance.now();
      for (var k = 0; k < count; k++) { step(); }
      return count / ((performance.now() - start) / 1000);
    }
  };
  drawBars();
  show();
  if (perFrame) { video.requestVideoFrameCallback(onFrame); } else { window.requestAnimationFrame(loop); }
})();
