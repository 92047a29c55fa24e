import numpy as np
import pytest

from xltkit.lab import Lab, morphology_series
from xltkit.modeling.tokenization import train_tokenizer
from xltkit.analysis.morphology import chars_per_word, fertility, mattr, richness_table, unigram_entropy


def test_measures_on_hand_made_text():
    assert mattr(["a b a b"], window=2) == pytest.approx(1.0)  # every window of 2 has 2 types
    assert mattr(["a a a a"], window=2) == pytest.approx(0.5)
    assert unigram_entropy(["a b c d"]) == pytest.approx(2.0)
    assert unigram_entropy(["a a a a"]) == pytest.approx(0.0)
    assert chars_per_word(["ab abcd"]) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="no words"):
        mattr([""])


def test_mattr_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in rng.integers(0, 50, 400)]
    w = 30
    direct = np.mean([len(set(words[i:i + w])) / w for i in range(len(words) - w + 1)])
    assert mattr([" ".join(words)], window=w) == pytest.approx(direct)


def test_richness_rises_monotonically_with_the_morphology_parameters():
    specs = morphology_series()
    lab = Lab([s.code for s in specs], lab_seed=0)
    corpora = {c: lab.corpus(c, 3000) for c in lab.langs}
    tok = train_tokenizer([s for c in corpora for s in corpora[c][:1500]], 600, 32)
    t = richness_table(corpora, tok, n_words=12000).set_index("lang").loc[[s.code for s in specs]]
    for col in ("mattr", "unigram_entropy", "chars_per_word"):
        assert t[col].is_monotonic_increasing and t[col].iloc[-1] > t[col].iloc[0], (col, t[col].tolist())
    assert t.fertility.iloc[-1] > t.fertility.iloc[0]
    assert fertility(corpora["lab_m0"][:100], tok) >= 1.0


def test_cli_measures_any_text_file(tmp_path):
    import subprocess
    import sys

    lab = Lab(["lab_eng", "lab_fin"], lab_seed=0)
    for code in lab.langs:
        (tmp_path / f"{code}.txt").write_text("\n".join(lab.corpus(code, 400)))
    out = subprocess.run([sys.executable, "-m", "xltkit.pipeline.cli", "morphology", str(tmp_path / "lab_eng.txt"),
                          str(tmp_path / "lab_fin.txt"), "--n-words", "2000"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines()[1:]}
    assert float(rows["lab_fin"][3]) > float(rows["lab_eng"][3])  # mattr column
    bad = subprocess.run([sys.executable, "-m", "xltkit.pipeline.cli", "morphology", str(tmp_path / "nope.txt")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "text file not found" in bad.stderr
