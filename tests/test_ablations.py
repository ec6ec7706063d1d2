"""The ablation sweep's bookkeeping: which runs it has, and resuming after a kill."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import ablations


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
    assert ablations.other_prompt_lr("slowfast_r50") == {
        "prompt_lr": ablations.PROMPT_LR
    }  # its recipe uses the backbone's
    assert ablations.other_prompt_lr("tiny3d") == {"prompt_lr": None}


def test_runs_from_another_start_are_kept_apart():
    from vmp.book.report import from_start

    def run(config, initial):
        return {"backbone": "tiny3d", "config": config, "seed": 0, "initial": initial}

    former, current = run("vmp", [30.000002, 0.1]), run("vmp", [30.0, -0.3])
    frames, paper = run("frames", None), run("vmp_paper_init", [12.0, 0.4])
    records = [former, current, frames, paper]
    assert from_start(records, (30.0, 0.1)) == [former, frames, paper]
    assert from_start(records, (30.0, -0.3)) == [current, frames, paper]
    assert from_start(records, (30.0, 0.1), configs=("vmp_paper_init",)) == [
        former,
        current,
        frames,
    ]  # only its listed configs are filtered
    assert ablations.run_key("tiny3d", "vmp", 0, former["initial"]) != ablations.run_key(
        "tiny3d", "vmp", 0, current["initial"]
    )
    assert ablations.run_key("tiny3d", "frames", 0) == ablations.run_key("tiny3d", "frames", 0, None)
    assert ablations.run_key("tiny3d", "vmp", 0) == ablations.run_key("tiny3d", "vmp", 0, ablations.DEFAULT_START)


def test_append_record_adds_one_whole_line_that_read_records_returns(tmp_path):
    path = tmp_path / "sub" / "runs.jsonl"
    ablations.append_record(path, {"seed": 0})
    ablations.append_record(path, {"seed": 1})
    assert path.read_text().count("\n") == 2 and ablations.read_records(path) == [{"seed": 0}, {"seed": 1}]
