"""The ablation sweep's bookkeeping: which runs it has, and resuming after a kill."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import ablations  # noqa: E402


def test_a_line_cut_by_a_kill_is_dropped_and_the_rest_kept(tmp_path):
    path = tmp_path / "runs.jsonl"
    done = {"backbone": "tiny3d", "config": "vmp", "seed": 0, "test_top1": 0.5}
    path.write_text(json.dumps(done) + "\n" + '{"backbone": "tiny3d", "config": "fr')
    assert ablations.read_records(path) == [done]
    assert path.read_text() == json.dumps(done) + "\n"  # the next run appends after a whole line
    assert ablations.read_records(tmp_path / "absent.jsonl") == []


def test_every_configuration_is_a_train_and_test_call():
    import inspect

    from vmp.experiment import train_and_test

    accepted = set(inspect.signature(train_and_test).parameters) | {"gate"}  # gate goes to build_model
    for name, options in ablations.CONFIGS.items():
        assert set(options) <= accepted, (name, options)
    assert {"frames", "vmp", "vmp_frozen", "vmp_paper_init", "gamma", "maxexp", "sigme", "asinhe", "stacked",
            "gated", "gray_difference", "difference_frames", "rgb_difference", "vmp_other_lr"} <= set(ablations.CONFIGS)
    assert ablations.other_prompt_lr("slowfast_r50") == {"prompt_lr": ablations.PROMPT_LR}  # its recipe uses the backbone's
    assert ablations.other_prompt_lr("tiny3d") == {"prompt_lr": None}
