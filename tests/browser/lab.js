// What the browser tests read from JupyterLab's own models, never from how the page looks.
//
// JupyterLab exposes its application as `window.jupyterapp` when the server runs with
// `--LabApp.expose_app_in_browser=True` (conftest.py starts it so). From there: the notebook panels in the main
// area, each with its notebook model (cells, their execution counts, execution states and outputs) and its
// session context (the kernel's status and connection). lab.py evaluates this file in the page once and then calls
// `window.fbfLab.<function>`.
window.fbfLab = (() => {
  const app = () => window.jupyterapp ?? null;
  const isNotebookPanel = widget =>
    Boolean(widget && widget.context && widget.sessionContext && widget.content && widget.content.model);

  // The notebook panel at `path`; without a path, the current one (the only one the tests open).
  function panel(path = null) {
    const lab = app();
    if (!lab || !lab.shell) return null;
    const panels = Array.from(lab.shell.widgets('main')).filter(isNotebookPanel);
    if (path !== null) return panels.find(p => p.context.path === path) ?? null;
    const current = lab.shell.currentWidget;
    if (isNotebookPanel(current)) return current;
    return panels.find(p => p.isVisible) ?? panels[0] ?? null;
  }

  function mustPanel() {
    const found = panel();
    if (!found) throw new Error('no notebook is open in JupyterLab');
    return found;
  }

  // The kernel as the session context sees it. `idle` only when the session is ready, a kernel is attached, its
  // websocket is connected, its last status message said idle and no input() prompt is waiting.
  function kernel(p) {
    const context = p.sessionContext;
    const k = context.session?.kernel ?? null;
    const state = {
      ready: context.isReady,
      name: k?.name ?? null,
      status: k ? k.status : context.hasNoKernel ? 'no kernel' : 'starting',
      connection: k ? k.connectionStatus : null,
      pendingInput: context.pendingInput,
    };
    state.idle = state.ready && k !== null && state.status === 'idle' && state.connection === 'connected'
      && !state.pendingInput;
    return state;
  }

  // Text of a cell's error and stderr outputs (tracebacks without their colour codes).
  function problems(model) {
    const found = [];
    for (let i = 0; i < model.outputs.length; i++) {
      const item = model.outputs.get(i);
      if (item.type !== 'error' && item.type !== 'stream') continue; // rich outputs are not serialised on each poll
      const output = item.toJSON();
      if (output.output_type === 'error') {
        const trace = (output.traceback ?? []).join('\n').replace(/\u001b\[[0-9;]*m/g, '');
        found.push({ kind: 'error', text: trace || `${output.ename}: ${output.evalue}` });
      } else if (output.output_type === 'stream' && output.name === 'stderr') {
        const text = Array.isArray(output.text) ? output.text.join('') : output.text;
        found.push({ kind: 'stderr', text });
      }
    }
    return found;
  }

  function codeCell(model, index) {
    const source = model.sharedModel.getSource();
    return {
      index,
      id: model.id,
      empty: source.trim() === '',
      count: model.executionCount ?? null,
      running: model.executionState === 'running',
      outputs: model.outputs.length,
      problems: problems(model),
    };
  }

  // Every code cell of the notebook, in order, with its index among all cells.
  function codeCells(p) {
    const cells = p.content.model.cells;
    const found = [];
    for (let i = 0; i < cells.length; i++) {
      const model = cells.get(i);
      if (model.type === 'code') found.push(codeCell(model, i));
    }
    return found;
  }

  function dialogs() {
    return Array.from(document.querySelectorAll('.jp-Dialog')).map(d => d.innerText.trim().slice(0, 500));
  }

  // The run started by `startRun`, per panel: which cells started and finished (with their count) since then.
  const runs = new WeakMap();

  function stopRun(p) {
    const run = runs.get(p);
    if (!run) return;
    for (const [model, slot] of run.connections) model.stateChanged.disconnect(slot);
    runs.delete(p);
  }

  function startRun() {
    const p = mustPanel();
    stopRun(p);
    const run = { started: new Set(), finished: new Map(), connections: [] };
    const cells = p.content.model.cells;
    for (let i = 0; i < cells.length; i++) {
      const model = cells.get(i);
      if (model.type !== 'code') continue;
      const slot = (changed, change) => {
        if (change.name === 'executionState' && change.newValue === 'running') run.started.add(changed.id);
        if (change.name === 'executionCount' && change.newValue !== null) run.finished.set(changed.id, change.newValue);
      };
      model.stateChanged.connect(slot);
      run.connections.push([model, slot]);
    }
    runs.set(p, run);
    return codeCells(p).length;
  }

  const prompt = cell => (cell.running ? '[*]:' : cell.count === null ? '[ ]:' : `[${cell.count}]:`);

  // Where a run of every cell stands. `done`: every non-empty code cell finished in this run (its count is the one
  // this run gave it) and none is running, the kernel is idle. `problems`: error or stderr outputs of the cells this
  // run started. Without `startRun` first, any count counts.
  function runState() {
    const p = panel();
    if (!p) return { open: false, dialogs: dialogs() };
    const run = runs.get(p) ?? null;
    const cells = codeCells(p).filter(c => !c.empty);
    const ran = c => c.count !== null && !c.running && (run === null || run.finished.get(c.id) === c.count);
    const k = kernel(p);
    const executed = cells.filter(ran).length;
    const touched = run === null ? cells : cells.filter(c => run.started.has(c.id) || run.finished.has(c.id));
    return {
      open: true,
      path: p.context.path,
      kernel: k,
      cells: cells.length,
      executed,
      started: run === null ? null : run.started.size,
      prompts: cells.map(prompt),
      done: executed === cells.length && cells.every(c => !c.running) && k.idle,
      problems: touched.flatMap(c => c.problems.map(problem => ({ index: c.index, ...problem }))),
      dialogs: dialogs(),
    };
  }

  // Where the open notebook's kernel stands, for waits on it.
  function kernelState(path = null) {
    const p = panel(path);
    if (!p) return { open: false, dialogs: dialogs() };
    return { open: true, path: p.context.path, kernel: kernel(p), dialogs: dialogs() };
  }

  // A cell by index (negative: from the end) or by id.
  function findCell(p, which) {
    const cells = p.content.model.cells;
    if (typeof which === 'string') {
      for (let i = 0; i < cells.length; i++) if (cells.get(i).id === which) return [cells.get(i), i];
      return [null, -1];
    }
    const index = which < 0 ? cells.length + which : which;
    return index >= 0 && index < cells.length ? [cells.get(index), index] : [null, -1];
  }

  // One cell's state: its type, source, count, whether it runs, its outputs (nbformat JSON), the kernel.
  function cellState(which) {
    const p = mustPanel();
    const [model, index] = findCell(p, which);
    if (!model) return { found: false, cells: p.content.model.cells.length, kernel: kernel(p) };
    const state = {
      found: true,
      index,
      id: model.id,
      type: model.type,
      source: model.sharedModel.getSource(),
      active: p.content.activeCellIndex === index,
      cells: p.content.model.cells.length,
      kernel: kernel(p),
    };
    if (model.type === 'code') {
      Object.assign(state, codeCell(model, index));
      state.outputJSON = Array.from({ length: model.outputs.length }, (_, i) => model.outputs.get(i).toJSON());
    }
    return state;
  }

  // Makes the cell at `index` the only selected, active one, in command mode (as a click on its prompt does).
  function selectCell(index) {
    const p = mustPanel();
    const notebook = p.content;
    notebook.mode = 'command';
    notebook.activeCellIndex = index < 0 ? notebook.model.cells.length + index : index;
    notebook.deselectAll();
    return notebook.activeCellIndex;
  }

  // The notebooks open in the main area (their paths) and the dialogs shown.
  function openNotebooks() {
    const lab = app();
    const paths = lab?.shell ? Array.from(lab.shell.widgets('main')).filter(isNotebookPanel).map(p => p.context.path) : [];
    return { loaded: Boolean(lab?.shell), paths, dialogs: dialogs() };
  }

  // Makes the notebook at `path` the current widget; returns whether it is open.
  function activate(path) {
    const p = panel(path);
    if (p) app().shell.activateById(p.id);
    return p !== null;
  }

  return { activate, cellState, kernelState, openNotebooks, panel, runState, selectCell, startRun };
})();
