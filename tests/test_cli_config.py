"""``--config FILE.toml`` and ``--print-config`` on ``train`` and ``compare``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from cli_support import TINY_TRAINING, run_cli

from mlpbench.checkpoint import read_checkpoint
from mlpbench.cli.config import toml_value


def write_config(folder: Path, text: str) -> Path:
    path = folder / "run.toml"
    path.write_text(text, encoding="utf-8")
    return path


def printed_config(capsys, *args: object) -> dict:
    result = run_cli(capsys, *args, "--print-config")
    assert result.status == 0, result.err
    return tomllib.loads(result.out)


def test_config_value_used_in_training(capsys, tmp_path: Path):
    config = write_config(tmp_path, 'lr = 0.02\nhidden = [12]\nschedule = "cosine"\n')
    path = tmp_path / "run.npz"

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING[2:], "--config", config, "--save", path)

    assert result.status == 0, result.err
    checkpoint = read_checkpoint(path)
    assert checkpoint.config["lr"] == 0.02
    assert checkpoint.config["schedule"] == "cosine"
    assert checkpoint.layer_sizes == [64, 12, 10]


def test_command_line_overrides_config(capsys, tmp_path: Path):
    config = write_config(tmp_path, "lr = 0.02\nepochs = 7\n")

    values = printed_config(capsys, "train", "--config", config, "--lr", "0.3")

    assert values["lr"] == 0.3
    assert values["epochs"] == 7


def test_dash_and_underscore_keys_accepted(capsys, tmp_path: Path):
    config = write_config(tmp_path, "batch-size = 32\nweight_decay = 0.001\n")

    values = printed_config(capsys, "train", "--config", config)

    assert values["batch-size"] == 32
    assert values["weight-decay"] == 0.001


def test_same_flag_twice_rejected(capsys, tmp_path: Path):
    config = write_config(tmp_path, "batch_size = 32\nbatch-size = 64\n")

    result = run_cli(capsys, "train", "--config", config)

    assert result.status == 2
    assert f"{config}, key 'batch-size' sets the same flag as {config}, key 'batch_size'" in result.err
    assert "keep one of them" in result.err


@pytest.mark.parametrize(
    "text, expected", [("[256, 128]", [256, 128]), ('"256,128"', [256, 128]), ("[]", [])]
)
def test_hidden_list_or_text(capsys, tmp_path: Path, text: str, expected: list[int]):
    config = write_config(tmp_path, f"hidden = {text}\n")

    values = printed_config(capsys, "train", "--config", config)

    assert values["hidden"] == expected


@pytest.mark.parametrize("text", ["", " "])
def test_empty_hidden_flag_rejected(capsys, text: str):
    # An unset shell variable (--hidden "$H") must not train a network without hidden layers.
    result = run_cli(capsys, "train", "--hidden", text, "--print-config")

    assert result.status == 2
    assert "argument --hidden: the hidden sizes are empty" in result.err
    assert "or 0 for no hidden layer" in result.err
    assert result.out == ""


def test_unknown_key_names_file_and_key(capsys, tmp_path: Path):
    config = write_config(tmp_path, "learning-rate = 0.1\n")

    result = run_cli(capsys, "train", "--config", config)

    assert result.status == 2
    assert str(config) in result.err
    assert "unknown key 'learning-rate'; did you mean 'lr' or 'schedule'?" in result.err


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("max_iter", "epochs"),
        ("random_state", "seed"),
        ("hidden_layer_sizes", "hidden"),
        ("lerning_rate_init", "lr"),
        ("hiden_layer_sizes", "hidden"),
    ],
)
def test_unknown_key_named_as_in_scikit_learn(capsys, tmp_path: Path, key: str, meant: str):
    config = write_config(tmp_path, f"{key} = 3\n")

    result = run_cli(capsys, "train", "--config", config)

    assert result.status == 2
    assert f"unknown key {key!r}; did you mean {meant!r}?" in result.err


def test_unknown_key_close_match(capsys, tmp_path: Path):
    config = write_config(tmp_path, "batch_sise = 32\n")

    result = run_cli(capsys, "train", "--config", config)

    assert result.status == 2
    assert "unknown key 'batch_sise'; did you mean 'batch-size'?" in result.err


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        # The train recipe tried with profile: the reason for profile's lack comes along.
        (
            "profile",
            "epochs = 14\n",
            "unknown key 'epochs' (a setting of train, compare and sweep, not of profile, which "
            "times one epoch of each engine); remove it, or use one file per command",
        ),
        # A close spelling among the command's own keys is still suggested.
        (
            "train",
            'engines = "numpy"\n',
            "unknown key 'engines' (a setting of compare, sweep and profile, not of train); "
            "did you mean 'engine'?",
        ),
    ],
)
def test_key_of_other_command_named(capsys, tmp_path: Path, command: str, text: str, expected: str):
    config = write_config(tmp_path, text)

    result = run_cli(capsys, command, "--config", config)

    assert result.status == 2
    assert expected in result.err


def test_negative_lr_in_file_names_file_and_key(capsys, tmp_path: Path):
    config = write_config(tmp_path, "lr = -0.5\n")

    result = run_cli(capsys, "train", "--config", config, *TINY_TRAINING)

    assert result.status == 2
    assert f"{config}, key 'lr': lr must be a positive finite number, got -0.5" in result.err


def test_flag_error_omits_config_file(capsys, tmp_path: Path):
    config = write_config(tmp_path, "lr = 0.1\n")

    result = run_cli(capsys, "train", "--config", config, "--momentum", "1.5")

    assert result.status == 2
    # A value given on the command line is named by its flag.
    assert "mlpbench train: error: --momentum must be in [0, 1), got 1.5" in result.err
    assert str(config) not in result.err


def test_file_value_overridden_before_validation(capsys, tmp_path: Path):
    config = write_config(tmp_path, "lr = -0.5\n")

    values = printed_config(capsys, "train", "--config", config, "--lr", "0.1")

    assert values["lr"] == 0.1


@pytest.mark.parametrize(
    "line, message",
    [
        ('epochs = "many"', "expected a positive integer, got 'many'"),
        ("epochs = 0", "expected a positive integer, got 0"),
        ('schedule = "linear"', "invalid choice 'linear'"),
        ("lr = true", "key 'lr': expected a number, got the TOML boolean true"),
        ("epochs = false", "key 'epochs': expected a positive integer, got the TOML boolean false"),
        ("dataset = true", "key 'dataset': expected a string, got the TOML boolean true"),
        ("print_config = 1", "key 'print_config' cannot be set in a config file; give --print-config"),
        ("[training]\nlr = 0.1", "[training] starts a TOML table, but the settings go at the top"),
        ('hidden = ""', "the hidden sizes are empty: give a comma list of positive integers"),
    ],
)
def test_bad_value_in_file_rejected(capsys, tmp_path: Path, line: str, message: str):
    config = write_config(tmp_path, line + "\n")

    result = run_cli(capsys, "train", "--config", config)

    assert result.status == 2
    assert message in result.err
    assert str(config) in result.err


def test_invalid_toml_rejected(capsys, tmp_path: Path):
    config = write_config(tmp_path, "lr = = 1\n")

    result = run_cli(capsys, "train", "--config", config)

    assert result.status == 2
    assert f"config file {config} is not valid TOML" in result.err


def test_missing_config_file_rejected(capsys, tmp_path: Path):
    result = run_cli(capsys, "train", "--config", tmp_path / "absent.toml")

    assert result.status == 2
    assert "absent.toml not found" in result.err


def test_print_config_round_trips(capsys, tmp_path: Path):
    first = run_cli(
        capsys, "train", "--print-config", "--hidden", "32,16", "--lr", "0.003", "--dataset", 'my "data"é'
    )
    assert first.status == 0, first.err
    config = write_config(tmp_path, first.out)

    second = run_cli(capsys, "train", "--print-config", "--config", config)

    assert second.status == 0, second.err
    assert second.out == first.out
    assert tomllib.loads(second.out)["dataset"] == 'my "data"é'


def test_print_config_rejects_invalid_values(capsys):
    result = run_cli(capsys, "train", "--print-config", "--weight-decay", "-1")

    assert result.status == 2
    assert "mlpbench train: error: --weight-decay must be zero or positive, got -1.0" in result.err


def test_print_config_does_not_train(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"

    result = run_cli(capsys, "train", "--print-config", "--save", path)

    assert result.status == 0
    assert f'save = "{path}"' in result.out
    assert not path.exists()


def test_compare_reads_config(capsys, tmp_path: Path):
    config = write_config(tmp_path, 'epochs = 3\nrepeats = 5\nengines = "numpy"\n')

    values = printed_config(capsys, "compare", "--config", config, "--epochs", "4")

    assert values["epochs"] == 4
    assert values["repeats"] == 5
    assert values["engines"] == ["numpy"]


@pytest.mark.parametrize(
    "value", ["plain", 'quote " and \\ backslash', "tab\tnew\nline", "del\x7f", "ünïcode ☃", "emoji 🙂"]
)
def test_toml_string_round_trip(value: str):
    assert tomllib.loads(f"key = {toml_value(value)}")["key"] == value


@pytest.mark.parametrize("value", [0.1, 1e-05, 3.0, 1e300, float("inf"), -2, True, [1, 2], ["a", "b"], []])
def test_toml_scalar_round_trip(value):
    assert tomllib.loads(f"key = {toml_value(value)}")["key"] == value


def test_mistyped_flag_gets_subcommand_usage(capsys):
    result = run_cli(capsys, "train", "--lrr=0.1", "--batchsize", "3", "--epochs", "1")

    assert result.status == 2
    assert result.err.startswith("usage: mlpbench train ")
    assert (
        "mlpbench train: error: unrecognized arguments: --lrr=0.1 --batchsize 3; did you mean "
        "--lr instead of --lrr, --batch-size instead of --batchsize?"
    ) in result.err
    assert result.out == ""


def test_shortened_flag_is_refused_and_named_in_full(capsys):
    # A prefix of one flag would be accepted by argparse's default; here it is refused
    # before any training, with the flag it starts.
    result = run_cli(capsys, "train", "--ep", "1", "--engine", "numpy")

    assert result.status == 2
    assert "unrecognized arguments: --ep 1; did you mean --epochs instead of --ep?" in result.err
    assert result.out == ""


def test_shortened_flag_of_several_lists_each(capsys):
    result = run_cli(capsys, "train", "--st")

    assert result.status == 2
    assert "did you mean --standardize or --stop-after instead of --st?" in result.err


def test_shortened_top_level_flag_is_refused(capsys):
    result = run_cli(capsys, "--verb", "datasets")

    assert result.status == 2
    assert "unrecognized arguments: --verb; did you mean --verbose instead of --verb?" in result.err


def test_stray_argument_named_without_guess(capsys):
    result = run_cli(capsys, "evaluate", "model.npz", "--json", "scores.json")

    assert result.status == 2
    assert "mlpbench evaluate: error: unrecognized arguments: scores.json\n" in result.err


def test_sweep_config_takes_the_flag_aliases(capsys, tmp_path: Path):
    # sweep's --batch-size, --dtype and --threads are aliases of its list flags.
    config = write_config(tmp_path, 'batch-size = 64\ndtype = "float64"\nthreads = [1, 2]\n')

    values = printed_config(capsys, "sweep", "--config", config)

    assert values["batch-sizes"] == [64]
    assert values["dtypes"] == ["float64"]
    assert values["threads-list"] == [1, 2]


def test_alias_and_its_flag_in_one_file_rejected(capsys, tmp_path: Path):
    config = write_config(tmp_path, "batch-size = 64\nbatch-sizes = [32]\n")

    result = run_cli(capsys, "sweep", "--config", config, "--print-config")

    assert result.status == 2
    assert "sets the same flag as" in result.err


@pytest.mark.parametrize(
    ("arguments", "hint"),
    [
        (["train", "--hidden", "64", "32"], "--hidden 64,32 instead of --hidden 64 32"),
        (
            ["sweep", "--batch-sizes", "16", "32", "64"],
            "--batch-sizes 16,32,64 instead of --batch-sizes 16 32 64",
        ),
        (
            ["compare", "--engines", "numpy", "torch"],
            "--engines numpy,torch instead of --engines numpy torch",
        ),
    ],
    ids=["hidden", "batch-sizes", "engines"],
)
def test_spaced_list_gets_comma_hint(capsys, arguments: list[str], hint: str):
    result = run_cli(capsys, *arguments, "--print-config")

    assert result.status == 2
    assert f"did you mean {hint} (one comma list, no spaces)?" in result.err
    assert result.err.count("instead of") == 1


@pytest.mark.parametrize("command", ["train", "compare", "profile"])
def test_batch_size_list_points_to_sweep(capsys, command: str):
    result = run_cli(capsys, command, "--batch-size", "32,512", "--print-config")

    assert result.status == 2
    assert "argument --batch-size: expected one positive integer, got '32,512'" in result.err
    assert "to time several batch sizes, run mlpbench sweep --batch-sizes 32,512" in result.err


@pytest.mark.parametrize("text", ["32,", "32,x", "32,0", "32,32", "32,032"])
def test_invalid_batch_size_list_gets_no_sweep_hint(capsys, text: str):
    result = run_cli(capsys, "compare", "--batch-size", text, "--print-config")

    assert result.status == 2
    assert f"argument --batch-size: expected a positive integer, got {text!r}" in result.err
    assert "sweep" not in result.err


@pytest.mark.parametrize(
    ("command", "hint"),
    [
        (["profile"], "did you mean --json instead of --out?"),
        (["train"], "did you mean --save instead of --out?"),
        # evaluate's --json is a switch that prints to stdout, so it cannot take the file name.
        (["evaluate", "model.npz"], "did you mean --plot instead of --out?"),
    ],
    ids=["profile", "train", "evaluate"],
)
def test_out_flag_named_where_missing(capsys, command: list[str], hint: str):
    result = run_cli(capsys, *command, "--out", "results.json")

    assert result.status == 2
    assert hint in result.err


@pytest.mark.parametrize(
    "command",
    [
        ["datasets", "--out", "list.json"],
        ["evaluate", "model.npz", "--js", "report.json"],
        # A negative number is a value too, so --standardize, a switch, is not meant.
        ["compare", "--st", "-2"],
    ],
    ids=["other-name", "shortened", "negative-value"],
)
def test_flag_with_value_hint_skips_switches(capsys, command: list[str]):
    # Each flag meant here takes a value, and the only close ones are switches.
    result = run_cli(capsys, *command)

    assert result.status == 2
    assert result.err.strip().endswith(f"error: unrecognized arguments: {' '.join(command[-2:])}")


def test_single_value_flag_no_list_hint(capsys):
    result = run_cli(capsys, "train", "--epochs", "3", "4", "--print-config")

    assert result.status == 2
    assert "unrecognized arguments: 4" in result.err
    assert "comma list" not in result.err


@pytest.mark.parametrize(
    ("arguments", "hint"),
    [
        (["--max-iter", "5"], "did you mean --epochs instead of --max-iter?"),
        (["--learning-rate", "0.1"], "did you mean --lr or --schedule instead of --learning-rate?"),
        (["--shuffle"], "mlpbench has no --shuffle: every epoch is shuffled"),
        (["--hidden=64", "32"], "did you mean --hidden 64,32 instead of --hidden=64 32"),
        (["--epochs", "3", "--", "--lr", "1"], "'--' ends the flags, so the words after it are not read"),
    ],
    ids=["scikit-learn-name", "two-meanings", "no-counterpart", "equals-list", "double-dash"],
)
def test_unknown_arguments_get_the_right_hint(capsys, arguments: list[str], hint: str):
    result = run_cli(capsys, "train", *arguments, "--print-config")

    assert result.status == 2
    assert hint in result.err


def test_list_hint_needs_valid_value(capsys):
    result = run_cli(capsys, "train", "--hidden", "64", "digits", "--print-config")

    assert result.status == 2
    assert "unrecognized arguments: digits" in result.err
    assert "64,digits" not in result.err


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("verbose = true", "key 'verbose' cannot be set in a config file; give -v or --verbose"),
        ('standardize = "true"', "got 'true' (a TOML boolean is written without quotes)"),
        ("shuffle = true", "unknown key 'shuffle'; mlpbench has no such setting: every epoch is shuffled"),
    ],
    ids=["command-line-only", "quoted-boolean", "no-counterpart"],
)
def test_config_key_messages(capsys, tmp_path: Path, line: str, message: str):
    config = write_config(tmp_path, line + "\n")

    result = run_cli(capsys, "train", "--config", config, "--print-config")

    assert result.status == 2
    assert message in result.err


@pytest.mark.parametrize(
    ("arguments", "hint"),
    [
        (["sweep", "--threads", "1", "2", "--batch-size", "2"], "--threads 1,2 instead of --threads 1 2"),
        (["train", "--epochs", "64", "--hidden", "128", "64"], "--hidden 128,64 instead of --hidden 128 64"),
        (["train", "--hidden", "128", "64", "--epochs", "64"], "--hidden 128,64 instead of --hidden 128 64"),
    ],
    ids=["value-repeated-later", "value-given-earlier", "value-repeated-after"],
)
def test_comma_hint_finds_the_stray_value_by_position(capsys, arguments: list[str], hint: str):
    result = run_cli(capsys, *arguments, "--print-config")

    assert result.status == 2
    assert f"did you mean {hint} (one comma list, no spaces)?" in result.err


@pytest.mark.parametrize(
    "after", [["--print-config"], ["--hidden", "128", "64"]], ids=["flag", "spaced-list"]
)
def test_words_after_double_dash_get_no_hint(capsys, after: list[str]):
    result = run_cli(capsys, "train", "--epochs", "3", "--", *after)

    assert result.status == 2
    assert "'--' ends the flags" in result.err
    assert "instead of" not in result.err
