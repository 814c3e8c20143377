"""Set up a virtual environment and run Backpropagate, or its tests. Standard library only.

    python3 scripts/bootstrap.py          # set up, then open the app (or train headless)
    python3 scripts/bootstrap.py test     # set up, then run the test suite

torch is installed first and on purpose: an unpinned torch pulled in by transformers would be a
multi-GB CUDA build on Linux. The default is ``torch==2.13.0``; pick another build with
``--torch-version`` / ``--torch-index-url`` (or BACKPROPAGATE_TORCH_VERSION /
BACKPROPAGATE_TORCH_INDEX_URL), e.g. the CUDA wheel index matching your driver.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TORCH = "2.13.0"
# Shared libraries Qt needs even offscreen, and the Debian packages that provide them.
QT_LIBS = {"libEGL.so.1": "libegl1", "libGL.so.1": "libgl1",
           "libfontconfig.so.1": "libfontconfig1", "libxkbcommon.so.0": "libxkbcommon0",
           "libglib-2.0.so.0": "libglib2.0-0", "libdbus-1.so.3": "libdbus-1-3"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", default="run", choices=["run", "test", "setup"])
    parser.add_argument("--venv", default=str(REPO / ".venv"), help="environment folder")
    parser.add_argument("--torch-version",
                        default=os.environ.get("BACKPROPAGATE_TORCH_VERSION", DEFAULT_TORCH))
    parser.add_argument("--torch-index-url",
                        default=os.environ.get("BACKPROPAGATE_TORCH_INDEX_URL"),
                        help="e.g. the PyTorch CUDA 12.8 wheel index for an NVIDIA GPU")
    parser.add_argument("--unpinned", action="store_true",
                        help="ignore constraints.txt (the tested versions) and take the newest "
                             "releases that pyproject.toml allows")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER,
                        help="after 'test --': extra pytest arguments")
    args = parser.parse_args(argv)

    python = ensure_venv(Path(args.venv))
    ensure_torch(python, args.torch_version, args.torch_index_url)
    ensure_project(python, pinned=not args.unpinned)
    if args.mode == "setup":
        return 0
    if args.mode == "test":
        ensure_qt_system_libs()
        extra = [a for a in args.pytest_args if a != "--"]
        env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
        return subprocess.call([str(python), "-m", "pytest", "-q", *extra], cwd=REPO, env=env)
    return run_main_job(python)


def ensure_venv(path: Path) -> Path:
    python = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        print(f"creating {path}", flush=True)
        venv.EnvBuilder(with_pip=True).create(path)
    return python


def ensure_torch(python: Path, version: str, index_url: str | None) -> None:
    have = subprocess.run([str(python), "-c", "import torch; print(torch.__version__)"],
                          capture_output=True, text=True)
    if have.returncode == 0 and have.stdout.strip().split("+")[0] == version:
        return
    command = [str(python), "-m", "pip", "install", f"torch=={version}"]
    if index_url:
        command += ["--index-url", index_url]
    print(f"installing torch {version}" + (f" from {index_url}" if index_url else ""),
          flush=True)
    subprocess.check_call(command)


def ensure_project(python: Path, pinned: bool = True) -> None:
    """Installs the project and its extras once, at the versions in constraints.txt unless
    ``pinned`` is off; again only when pyproject.toml, the constraints or that choice change."""
    stamp = python.parent.parent / ".backpropagate-installed"
    constraints = REPO / "constraints.txt"
    hashed = (REPO / "pyproject.toml").read_bytes()
    command = [str(python), "-m", "pip", "install", "-e", f"{REPO}[gui,dev]"]
    if pinned and constraints.is_file():
        hashed += constraints.read_bytes()
        command += ["-c", str(constraints)]
    digest = hashlib.sha256(hashed).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    print("installing Backpropagate and its dependencies", flush=True)
    subprocess.check_call(command)
    stamp.write_text(digest)


def ensure_qt_system_libs() -> None:
    """On Linux, Qt needs a few system libraries even offscreen; install them if we may."""
    if not sys.platform.startswith("linux") or not shutil.which("ldconfig"):
        return
    known = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    missing = sorted({pkg for lib, pkg in QT_LIBS.items() if lib not in known})
    if not Path("/usr/share/fonts/truetype/dejavu").is_dir():
        missing.append("fonts-dejavu-core")  # without fonts Qt draws boxes, silently
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"installing system packages for Qt: {' '.join(missing)}", flush=True)
        subprocess.check_call(["apt-get", "update", "-qq"])
        subprocess.check_call(["apt-get", "install", "-y", "-qq", *missing])
    else:
        print(f"Qt needs these system packages: {' '.join(missing)}", file=sys.stderr)


def run_main_job(python: Path) -> int:
    """Opens the app where there is a display; otherwise does the main job headless."""
    has_display = (os.name == "nt" or sys.platform == "darwin"
                   or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if has_display:
        return subprocess.call([str(python), "-m", "app"], cwd=REPO)
    print("no display: fine-tuning the bundled model on examples/quickstart.jsonl headless",
          flush=True)
    # The toy model learns the quickstart facts in 60 steps at a toy model's learning rate.
    code = subprocess.call(
        [str(python), "-m", "engine", "train", "--data", "examples/quickstart.jsonl",
         "--model", "bundled", "--steps", "60", "--lr", "2e-3", "--set", "lora.dropout=0",
         "--set", "checkpoint_every=20"], cwd=REPO)
    if code != 0:
        return code
    question = "What color is the Backpropagate logo?"
    print(f"asking the trained model: {question}", flush=True)
    return subprocess.call([str(python), "-m", "engine", "ask", "latest", question], cwd=REPO)


if __name__ == "__main__":
    sys.exit(main())
