"""The cluster dashboard on a big cluster: 50,000 pods in the fake API server.

The fake (``tests/k8sserver.py --pods N``) runs in its own process, so its CPU and memory
are not counted against the dashboard; a child process (this script with ``--setup``)
makes the store and mounts the cluster at ``/clusters/dev``. Measured here:

1. First paint of the pod table: the dashboard (``RealnetApp``, headless ``run_test`` at
   100×30) started at ``/clusters/dev``, from the app's start until the screen update that
   draws the table with the first page (target < 2 s); also the same after Ctrl+R (list
   again), median of the runs.
2. A watch update: a pod's status changed through the API (merge-patch of ``/status``)
   until the screen update that shows the new STATUS in its row (target < 200 ms, median).
3. RSS of this process with the table open (target < 400 MB).
4. ``realnet ls /clusters/dev/default/pods`` as a CLI process, first page (target < 0.5 s),
   with ``kubectl get pods --chunk-size=100 | head`` timed the same way as the baseline.

    python bench/cluster_bench.py [--pods N] [--runs N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "k8sserver.py"
MOUNT = "/clusters/dev"
PODS_FOLDER = f"{MOUNT}/default/pods"
TARGET_PAINT_S = 2.0
TARGET_WATCH_MS = 200.0
TARGET_RSS_MB = 400.0
TARGET_LS_S = 0.5
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
KUBECTL_RUNS = 3


def settings_for(home: Path):
    from realnet.config import load_settings

    return load_settings({"REALNET_HOME": str(home)}, cwd=home)


def setup(home: Path, kubeconfig: str) -> None:
    """The store, with the cluster mounted (the child process)."""
    from realnet.app import open_context

    context = open_context(settings_for(home))
    try:
        context.create(MOUNT, "KubernetesCluster", {"kubeconfig": kubeconfig}, parents=True)
    finally:
        context.provider.close()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(pods: int) -> tuple[subprocess.Popen[str], dict[str, str], float]:
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(SERVER), "--pods", str(pods)], stdout=subprocess.PIPE,
                               text=True, cwd=ROOT)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(10)
        raise SystemExit(f"the fake API server did not start (exit {process.returncode})")
    return process, json.loads(line), time.perf_counter() - start


def stop_server(process: subprocess.Popen[str]) -> None:
    process.terminate()  # by its PID: SIGTERM, which the fake handles
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def timed_process(command: list[str], env: dict[str, str], *, pipeline: bool = False) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command if not pipeline else ["bash", "-c", command[0]], capture_output=True,
                          text=True, env=env, timeout=300)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command}: exit {done.returncode}: {done.stderr.strip()[:300]}")
    return seconds, done.stdout


async def measure_dashboard(home: Path, kubeconfig: str, runs: int) -> dict[str, object]:
    from realnet.commands.session import Session
    from realnet.providers.kubernetes.client import Cluster, connect
    from realnet.tui.app import RealnetApp
    from realnet.tui.cluster.screen import ClusterScreen, ClusterTable

    class TimedApp(RealnetApp):
        """Stamps the first screen update that draws the awaited table contents."""

        awaited: object = None  # a condition on the cluster screen
        drawn = False
        painted: float | None = None

        def _display(self, screen, renderable) -> None:  # type: ignore[no-untyped-def]
            super()._display(screen, renderable)
            if self.painted is None and renderable is not None and self.drawn:
                self.painted = time.perf_counter()

    def hook(app: TimedApp, screen: ClusterScreen) -> None:
        table = screen.table
        draw = table.render_lines

        def render_lines(crop):  # type: ignore[no-untyped-def]
            if app.awaited is not None and app.awaited(screen):  # type: ignore[operator]
                app.drawn = True
            return draw(crop)

        table.render_lines = render_lines  # type: ignore[method-assign]

    async def wait_painted(app: TimedApp, what: str, limit: float = 120.0) -> float:
        deadline = time.perf_counter() + limit
        while app.painted is None:
            if time.perf_counter() > deadline:
                raise SystemExit(f"never painted: {what}")
            await asyncio.sleep(0.001)
        return app.painted

    writer = Cluster(connect(context=None, kubeconfig=kubeconfig, in_cluster=False, where=MOUNT), "bench")

    def set_phase(name: str, phase: str) -> None:
        writer.request("PATCH", f"/api/v1/namespaces/default/pods/{name}/status", where=name,
                       body={"status": {"phase": phase}}, content_type="application/merge-patch+json")

    figures: dict[str, object] = {}
    session = Session(settings=settings_for(home))
    try:
        app = TimedApp(session, start=MOUNT)
        hooked: list[ClusterScreen] = []

        def first_page(screen: ClusterScreen) -> bool:
            return screen.kind is not None and screen.table.row_count > 0

        app.awaited = first_page
        start = time.perf_counter()
        async with app.run_test(size=(100, 30)) as pilot:
            while not isinstance(app.screen, ClusterScreen) or app.screen.kind is None:
                if isinstance(app.screen, ClusterScreen) and not hooked and app.screen.query(ClusterTable):
                    hooked.append(app.screen)  # composed: its table is there to hook
                    hook(app, app.screen)
                if isinstance(app.screen, ClusterScreen) and app.screen.message_text:
                    raise SystemExit(f"the cluster screen says: {app.screen.message_text}")
                await asyncio.sleep(0.001)
            screen = app.screen
            if not hooked:  # the page came before the hook: draw again (a later, conservative stamp)
                hook(app, screen)
                screen.table.refresh()
            figures["cold"] = (await wait_painted(app, "the first page") - start)
            figures["rows"] = screen.table.row_count
            figures["first rows"] = screen.shown_names()[:3]

            reloads = []
            for _ in range(runs):
                generation = screen.generation + 1
                app.painted, app.drawn = None, False
                app.awaited = lambda s, g=generation: s.generation == g and s.kind is not None \
                    and not s.fetching and s.table.row_count > 0
                t0 = time.perf_counter()
                await pilot.press("ctrl+r")
                reloads.append(await wait_painted(app, "the page after Ctrl+R") - t0)
            figures["reloads"] = reloads
            await pilot.pause(0.2)

            target = screen.shown_names()[10]
            key = f"default/{target}"
            status_column = [str(c.label) for c in screen.table.columns.values()].index("STATUS")
            latencies = []
            for n in range(runs + 1):  # the first one warms up
                phase = "Pending" if n % 2 == 0 else "Running"
                app.painted, app.drawn = None, False
                app.awaited = lambda s, p=phase: s.table.get_row(key)[status_column] == p
                t0 = time.perf_counter()
                await asyncio.to_thread(set_phase, target, phase)
                painted = await wait_painted(app, f"{target} {phase}", limit=30)
                if n:
                    latencies.append((painted - t0) * 1000)
            figures["watch"] = latencies
            await pilot.pause(0.1)
            figures["rss"] = rss_mb()
            figures["loaded"] = len(screen.rows.rows)
    finally:
        session.close()
        writer.api.close()
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, help="pods in the fake API server (default 50,000; quick 5,000)")
    parser.add_argument("--runs", type=int, help="timed runs of each figure (default 9; quick 3)")
    parser.add_argument("--quick", action="store_true", help="5,000 pods, 3 runs")
    parser.add_argument("--setup", nargs=2, metavar=("HOME", "KUBECONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.setup:
        setup(Path(args.setup[0]), args.setup[1])
        return 0
    pods = max(1, args.pods or (5_000 if args.quick else 50_000))
    runs = max(1, args.runs or (3 if args.quick else 9))

    home = Path(tempfile.mkdtemp(prefix="realnet-bench-k8s-", dir="/tmp"))
    server, where, started = start_server(pods)
    try:
        subprocess.run([sys.executable, __file__, "--setup", str(home), where["kubeconfig"]], check=True)
        figures = asyncio.run(measure_dashboard(home, where["kubeconfig"], runs))
        print(f"(dashboard measured; now the CLI and kubectl, {time.strftime('%H:%M:%S')})", flush=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REALNET_", "KUBE"))}
        env.update(REALNET_HOME=str(home), HOME=str(home))
        realnet = [sys.executable, "-m", "realnet.cli"] if shutil.which("realnet") is None \
            else [shutil.which("realnet") or "realnet"]
        kubectl = (f"{KUBECTL} --kubeconfig {where['kubeconfig']} --cache-dir {home}/kcache "
                   "get pods -n default --chunk-size=100 | head")
        ls_times, kubectl_times, bare_times = [], [], []
        for n in range(runs + 1):  # the first round warms caches and is not counted
            bare, _ = timed_process([*realnet, "ls", "/"], env)
            seconds, out = timed_process([*realnet, "ls", PODS_FOLDER], env)
            if n == 0 and "pod-" not in out:
                raise SystemExit(f"realnet ls printed no pods: {out[:300]}")
            if n:
                ls_times.append(seconds)
                bare_times.append(bare)
        # kubectl reads every pod before it prints (see bench/README.md): a few runs, after one
        # cheap call that fills its discovery cache
        timed_process([f"{KUBECTL} --kubeconfig {where['kubeconfig']} --cache-dir {home}/kcache get ns"],
                      env, pipeline=True)
        for _ in range(KUBECTL_RUNS):
            k_seconds, k_out = timed_process([kubectl], env, pipeline=True)
            if "pod-" not in k_out:
                raise SystemExit(f"kubectl printed no pods: {k_out[:300]}")
            kubectl_times.append(k_seconds)
    finally:
        stop_server(server)
        shutil.rmtree(home, ignore_errors=True)

    reload = statistics.median(figures["reloads"])  # type: ignore[arg-type]
    watch = statistics.median(figures["watch"])  # type: ignore[arg-type]
    ls_median, kubectl_median = statistics.median(ls_times), statistics.median(kubectl_times)
    cold = float(figures["cold"])  # type: ignore[arg-type]
    rss = float(figures["rss"])  # type: ignore[arg-type]
    print(f"cluster: {pods:,} pods in the fake API server (its own process, started in {started:.1f} s); "
          f"headless dashboard 100×30, {runs} timed runs each")
    print(f"  first paint of the pod table, app start → painted: {cold * 1000:8.1f} ms "
          f"({figures['rows']} rows of the first page: {', '.join(figures['first rows'])} …)")  # type: ignore[arg-type]
    print(f"  Ctrl+R (list again) → painted, median:          {reload * 1000:8.1f} ms "
          f"(min {min(figures['reloads']) * 1000:.1f}, max {max(figures['reloads']) * 1000:.1f})")  # type: ignore[arg-type]
    print(f"  watch: API write → row painted, median:         {watch:8.1f} ms "
          f"(min {min(figures['watch']):.1f}, max {max(figures['watch']):.1f})")  # type: ignore[arg-type]
    print(f"  RSS with the table open ({figures['loaded']} rows loaded): {rss:.1f} MB")
    print(f"  realnet ls {PODS_FOLDER} (CLI process, first page), median: {ls_median * 1000:8.1f} ms")
    print(f"  (realnet ls / in the same store, the CLI's own start, median: "
          f"{statistics.median(bare_times) * 1000:.1f} ms)")
    print(f"  baseline kubectl get pods --chunk-size=100 | head, median of {len(kubectl_times)}: "
          f"{kubectl_median * 1000:8.1f} ms")
    print(f"  ratio realnet ls ÷ kubectl: {ls_median / kubectl_median:.2f}×")
    verdict = "met" if cold < TARGET_PAINT_S else "NOT met"
    print(f"target: first paint of {pods:,} pods < {TARGET_PAINT_S:.0f} s — {verdict} ({cold:.2f} s)")
    verdict = "met" if watch < TARGET_WATCH_MS else "NOT met"
    print(f"target: watch update reflected < {TARGET_WATCH_MS:.0f} ms median — {verdict} ({watch:.1f} ms)")
    verdict = "met" if rss < TARGET_RSS_MB else "NOT met"
    print(f"target: RSS with the table open < {TARGET_RSS_MB:.0f} MB — {verdict} ({rss:.1f} MB)")
    verdict = "met" if ls_median < TARGET_LS_S else "NOT met"
    print(f"target: realnet ls first page < {TARGET_LS_S} s median — {verdict} ({ls_median:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
