"""What a default command-line run loads: the ONNX networks, not torch or sentence-transformers."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[3]
DATA = ROOT / "tests" / "data"


def test_a_default_run_imports_neither_torch_nor_sentence_transformers(tmp_path):
    from ml.text.encoder import export_onnx as export_text
    from ml.visual.embedder import EmbedderOptions, export_onnx as export_image

    export_image(EmbedderOptions())  # exporting is the one step that needs torch: done once, cached
    export_text()
    script = (
        "import sys, json\n"
        "from ml.cli import main\n"
        f"rc = main(['localize', '--video', {str(DATA / 'clip' / 'clip.mp4')!r}, '--catalog', {str(DATA / 'catalog')!r},"
        f" '--comments', {str(DATA / 'clip' / 'comments.csv')!r}, '--out', {str(tmp_path / 'r.json')!r}, '--quiet'])\n"
        "print(json.dumps({'rc': rc, 'loaded': [m for m in ('torch', 'sentence_transformers', 'transformers', 'sklearn')"
        " if m in sys.modules]}))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"rc": 0, "loaded": []}
    assert json.loads((tmp_path / "r.json").read_text())["intervals"]
