"""JupyterLab in a real browser, for tests: a server on localhost and headless Chromium.

:class:`JupyterLab` starts ``jupyter lab`` on 127.0.0.1 (a free port, a random token, and
its own HOME, config, data, runtime, settings and workspace folders, so nothing of the
user's set-up leaks in and nothing is written to it) with a project folder as its root,
and drives Debian's ``chromium`` through the ``playwright`` package (``executable_path``;
never ``playwright install``).  :meth:`JupyterLab.open` copies a notebook into the
project's ``notebooks/`` folder, with parameters injected as papermill injects them, and
opens it, so its kernel runs where JupyterLab runs it for a researcher (in ``notebooks/``);
:class:`Notebook` runs all cells, waits for the kernel, reads the rendered outputs,
changes widgets and saves screenshots.  :meth:`JupyterLab.what_if` does all of it in one
call::

    @pytest.mark.browser
    def test_whatif(jupyter_lab):                    # the fixture: tests/conftest.py
        view = jupyter_lab.what_if("notebooks/06_whatif.ipynb", {"experiment_dir": "outputs/demo"},
                                   [("slider", "seeds", 10), ("dropdown", "target", "lab_swh")],
                                   screenshot="whatif")
        assert view.after != view.before and view.screenshot.is_file()

Flags and selectors are those FACTS.md records for JupyterLab 4 and ipywidgets 8.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]  # headless: launch(headless=True)
INSTALL = "as root: apt-get install -y chromium (make test does this where it can)"
#: user settings of the test server: no news or update pop-ups, every cell kept in the page
SETTINGS = {"@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
            "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"}}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

#: the open notebook as JupyterLab holds it: kernel status, execution counts, running cells, errors
STATE_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.content || !w.sessionContext) return null;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  return {
    kernel: kernel ? kernel.status : null,
    counts: cells.map(c => c.model.executionCount),
    running: cells.filter(c => {
      const p = c.node.querySelector('.jp-InputPrompt'); return p && p.textContent.includes('*'); }).length,
    errors: cells.flatMap(c => c.model.outputs.toJSON().filter(o => o.output_type === 'error')
                              .map(o => o.ename + ': ' + o.evalue + '\\n' + (o.traceback || []).join('\\n'))),
  };
}"""


def chromium() -> str | None:
    """Debian's chromium (``XLTKIT_CHROMIUM`` overrides), or None."""
    return os.environ.get("XLTKIT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def require() -> None:
    """Skip the calling test, naming the command that fixes it, where playwright or Chromium is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("browser tests need the playwright package: .venv/bin/pip install -e '.[dev]' (make test "
                    "installs it); never `playwright install`: the tests drive Debian's chromium")
    if not chromium():
        pytest.skip(f"browser tests need Debian's chromium: {INSTALL}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CellError(AssertionError):
    """A cell of a notebook run in the browser raised: the message holds its traceback."""


@dataclass
class WidgetRun:
    """What :meth:`JupyterLab.what_if` saw: the ``.widget-output`` texts before and after the
    changes (and digests of their images), every rendered output, and the screenshot."""

    before: list[str]
    after: list[str]
    images_before: list[str]
    images_after: list[str]
    outputs: list[str]
    screenshot: Path


class JupyterLab:
    """A JupyterLab server on ``root`` and a headless Chromium; a context manager (see the module docstring)."""

    def __init__(self, root: str | Path, home: str | Path, screenshots: str | Path | None = None,
                 start_timeout: float = 90.0):
        self.root, self.home = Path(root).resolve(), Path(home)
        self.screenshots = Path(screenshots) if screenshots else self.home / "screenshots"
        self.token, self.port = secrets.token_hex(16), _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self._pw = self.browser = None
        self._opened = 0

    # ---- server and browser ------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The server's (and so its kernels') environment: its own folders; project paths are
        found from the kernel's working directory (XLTKIT_ROOT is not passed on)."""
        h = self.home
        env = {k: v for k, v in os.environ.items() if k != "XLTKIT_ROOT"}
        try:  # the font cache of the user's matplotlib: a fresh HOME would rebuild it in every kernel
            import matplotlib

            env.setdefault("MPLCONFIGDIR", matplotlib.get_cachedir())
        except ImportError:
            pass
        env.update({"HOME": str(h), "JUPYTER_CONFIG_DIR": str(h / "config"), "JUPYTER_DATA_DIR": str(h / "data"),
                    "JUPYTER_RUNTIME_DIR": str(h / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(h / "settings"),
                    "JUPYTERLAB_WORKSPACES_DIR": str(h / "workspaces"), "IPYTHONDIR": str(h / "ipython"),
                    "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
                    "PYTHONUNBUFFERED": "1"})
        return env

    def start(self) -> "JupyterLab":
        from playwright.sync_api import sync_playwright

        require()
        for name, values in SETTINGS.items():
            f = self.home / "settings" / f"{name}.jupyterlab-settings"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(values))
        self.screenshots.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={self.root}", "--allow-root", "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--expose-app-in-browser"]
        self.log = self.home / "jupyter.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, cwd=self.root, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)  # kernels join its process group
        deadline = time.time() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                req = urllib.request.Request(f"{self.base}/api/status",
                                             headers={"Authorization": f"token {self.token}"})
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"jupyter lab did not answer in {self.start_timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.3)
        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(executable_path=chromium(), headless=True, args=CHROMIUM_FLAGS)
        return self

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text()[-n:] if self.log.is_file() else ""

    def close(self) -> None:
        if self.browser is not None:
            self.browser.close()
        if self._pw is not None:
            self._pw.stop()
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the server and its kernels
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self) -> "JupyterLab":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- notebooks -----------------------------------------------------------------------
    def open(self, notebook: str | Path, parameters: dict | None = None, timeout: float = 90.0,
             wait: bool = True) -> "Notebook":
        """Open ``notebook`` (a path; relative: to the repository) in a new page, as a copy in the
        project's ``notebooks/`` with ``parameters`` injected after its ``parameters`` cell (as
        papermill injects them), and wait until its kernel is idle (``wait=False``: call
        :meth:`Notebook.wait_for_kernel` before running it; several pages then start together)."""
        import nbformat

        src = Path(notebook)
        src = src if src.is_absolute() else REPO / src
        if parameters:
            from papermill.iorw import load_notebook_node
            from papermill.parameterize import parameterize_notebook

            nb = parameterize_notebook(load_notebook_node(str(src)), parameters)
        else:
            nb = nbformat.read(src, as_version=4)
        self._opened += 1
        rel = Path("notebooks") / f"{src.stem}.browser{self._opened}.ipynb"
        (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, self.root / rel)
        page = self.browser.new_page(viewport={"width": 1400, "height": 1000})
        # a workspace of its own, reset: no earlier notebook is restored (and started) beside it
        page.goto(f"{self.base}/lab/workspaces/t{self._opened}/tree/{rel.as_posix()}?reset&token={self.token}")
        out = Notebook(self, page, self.root / rel)
        if wait:
            out.wait_for_kernel(timeout)
        return out

    def what_if(self, notebook: str | Path, parameters: dict | None = None,
                changes: list[tuple[str, str | int, object]] = (), screenshot: str | None = None,
                timeout: float = 180.0, change_timeout: float = 60.0) -> WidgetRun:
        """Open ``notebook`` with ``parameters``, run all cells, apply ``changes`` in order, each
        ``("slider" | "dropdown", label or index, value)`` and each waited for (the widget
        outputs change and the kernel is idle), save a screenshot (``<screenshot>.png``, default
        the notebook's name) and return what the ``.widget-output`` areas showed before and after."""
        nb = self.open(notebook, parameters)
        try:
            nb.run_all(timeout)
            before, images_before = nb.widget_outputs(), nb.widget_images()
            for kind, label, value in changes:
                if kind == "slider":
                    nb.set_slider(label, value, timeout=change_timeout)
                elif kind == "dropdown":
                    nb.select(label, value, timeout=change_timeout)
                else:
                    raise ValueError(f"unknown widget kind {kind!r}; allowed: slider, dropdown")
            nb.page.locator(".jp-Notebook .jupyter-widgets").first.scroll_into_view_if_needed()
            shot = nb.screenshot(screenshot or Path(notebook).stem)
            return WidgetRun(before, nb.widget_outputs(), images_before, nb.widget_images(), nb.outputs(), shot)
        finally:
            nb.close()


class Notebook:
    """A notebook open in a JupyterLab page (made by :meth:`JupyterLab.open`)."""

    def __init__(self, lab: JupyterLab, page, path: Path):
        self.lab, self.page, self.path = lab, page, path
        self._last = 0  # the highest execution count before the last run_all

    def state(self) -> dict | None:
        """Kernel status, execution counts, running cells and error outputs (see ``STATE_JS``)."""
        return self.page.evaluate(STATE_JS)

    def wait_for_kernel(self, timeout: float = 90.0) -> None:
        """Until the kernel is attached and idle, accepting a "Select Kernel" dialog if one appears."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            dialog = self.page.locator(".jp-Dialog .jp-mod-accept")
            if dialog.count():
                dialog.first.click()
            st = self.state() if self.page.locator(".jp-NotebookPanel").count() else None
            if st and st["kernel"] == "idle":
                return
            time.sleep(0.3)
        raise TimeoutError(f"{self.path.name}: the kernel was not idle after {timeout:.0f} s "
                           f"(status bar: {self.status_bar()!r})\n{self.lab.log_tail(2000)}")

    def status_bar(self) -> str:
        bar = self.page.locator("#jp-main-statusbar")
        return bar.inner_text() if bar.count() else ""

    def run_all(self, timeout: float = 120.0, wait: bool = True) -> "Notebook":
        """Run every cell ("Run All Cells") and wait until all have run and the kernel is idle
        (``wait=False``: return at once; :meth:`wait_done` waits); raise :class:`CellError` with
        the traceback where a cell raised."""
        st = self.state() or {"counts": []}
        self._last = max([c for c in st["counts"] if c is not None], default=0)
        self.page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        return self.wait_done(timeout) if wait else self

    def wait_done(self, timeout: float = 120.0) -> "Notebook":
        """Until every code cell has run since the last :meth:`run_all` and the kernel is idle;
        raise :class:`CellError` with the traceback where a cell raised."""
        last, deadline = self._last, time.time() + timeout
        while time.time() < deadline:
            time.sleep(0.3)
            st = self.state()
            if not st or st["kernel"] != "idle" or st["running"]:
                continue
            if st["errors"]:
                raise CellError(f"{self.path.name}: " + "\n\n".join(ANSI.sub("", e) for e in st["errors"]))
            if all(c is not None and c > last for c in st["counts"]):
                return self
        raise TimeoutError(f"{self.path.name}: not finished after {timeout:.0f} s: {self.state()}")

    # ---- what is rendered ----------------------------------------------------------------
    def outputs(self) -> list[str]:
        """The text of every rendered output area of the notebook, in order."""
        return self.page.locator(".jp-Notebook .jp-OutputArea-output").all_inner_texts()

    def images(self) -> int:
        """How many images the notebook's outputs show."""
        return self.page.locator(".jp-Notebook .jp-OutputArea-output img").count()

    def widget_outputs(self) -> list[str]:
        """The text of every ``.widget-output`` area (ipywidgets ``Output``), in order, stripped."""
        return [t.strip() for t in self.page.locator(".widget-output").all_inner_texts()]

    def widget_images(self) -> list[str]:
        """Short digests of the images in ``.widget-output`` areas (a redrawn plot changes its digest)."""
        srcs = self.page.locator(".widget-output img").evaluate_all("els => els.map(e => e.src)")
        return [hashlib.sha1(s.encode()).hexdigest()[:12] for s in srcs]

    def _widget(self, kind: str, label: str | int):
        found = self.page.locator(f".jp-Notebook .widget-{kind}")
        if isinstance(label, int):
            return found.nth(label)
        name = self.page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
        hit = found.filter(has=name)
        if not hit.count():
            labels = self.page.locator(f".jp-Notebook .widget-{kind} .widget-label").all_inner_texts()
            raise LookupError(f"no {kind} labelled {label!r}; the notebook's: {labels}")
        return hit.first

    def set_slider(self, label: str | int, value, timeout: float = 60.0) -> list[str]:
        """Type ``value`` into the readout of the slider described ``label`` (or the ``label``-th
        slider), press Enter, and return the widget outputs once they changed and settled."""
        before = self.widget_outputs() + self.widget_images()
        readout = self._widget("slider", label).locator(".widget-readout")
        readout.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(str(value))
        self.page.keyboard.press("Enter")
        return self.settle(before, timeout=timeout)

    def select(self, label: str | int, option, timeout: float = 60.0) -> list[str]:
        """Choose ``option`` (its text) in the dropdown described ``label`` (or the ``label``-th)
        and return the widget outputs once they changed and settled."""
        before = self.widget_outputs() + self.widget_images()
        self._widget("dropdown", label).locator("select").select_option(label=str(option))
        return self.settle(before, timeout=timeout)

    def settle(self, before: list[str] | None = None, timeout: float = 60.0) -> list[str]:
        """Wait until the kernel is idle and the widget outputs (texts and image digests) differ
        from ``before`` (None: any) and are the same on two polls; return the texts.  Returns
        at ``timeout`` whatever is shown (the caller asserts on it)."""
        deadline, last = time.time() + timeout, None
        while time.time() < deadline:
            time.sleep(0.3)
            now = self.widget_outputs() + self.widget_images()
            st = self.state()
            if st and st["kernel"] == "idle" and now == last and (before is None or now != before):
                break
            last = now
        return self.widget_outputs()

    def screenshot(self, name: str, selector: str | None = None) -> Path:
        """Save ``<screenshots>/<name>.png``: the page, or the element ``selector`` matches (scrolled into view)."""
        path = self.lab.screenshots / f"{name}.png"
        if selector:
            self.page.locator(selector).first.screenshot(path=str(path))
        else:
            self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        """Shut the kernel down and close the page."""
        try:
            self.page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        finally:
            self.page.close()
