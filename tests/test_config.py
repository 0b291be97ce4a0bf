"""Configuration: found, merged with the environment, validated with messages naming the key."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bridge.config import SECRET_KEYS, Config, ConfigError, load_config
from bridge.plugins import load_connector
from connectors.filedrop.settings import FiledropSettings

EXAMPLE = Path(__file__).resolve().parents[1] / "etc" / "bridge.example.toml"


def _write(tmp_path, text: str) -> Path:
    (tmp_path / "erp").mkdir(exist_ok=True)
    path = tmp_path / "bridge.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_o1_unknown_key_is_named(tmp_path):
    path = _write(tmp_path, "[orders]\nmax_lines = 10\nmax_lnies = 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert err.value.problems == ["orders.max_lnies: unknown key (see etc/bridge.example.toml for the keys there are)"]


def test_o1_unknown_section_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"databse: unknown key"):
        load_config(_write(tmp_path, "[databse]\nurl = 'x'\n"), environ={})


def test_o1_wrong_type_is_named_with_the_value(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, '[orders]\nmax_lines = "many"\n[customers]\ndefault_type = 3\n'), environ={})
    text = str(err.value)
    assert "orders.max_lines:" in text and "'many'" in text
    assert "customers.default_type:" in text


def test_p12_06_a_missing_filedrop_folder_is_the_connectors_to_report_not_a_config_error(tmp_path):
    """#12 point 6 (O1): a share not mounted yet is an outage, not a bad setting: the connector
    loads, its check names the folder in one failing line, and reaching it is a transient error."""
    from bridge.connector import TransientError

    path = tmp_path / "bridge.toml"
    path.write_text('[connector.filedrop]\nroot = "nowhere"\n')
    connector = load_connector(load_config(path, environ={}))
    assert connector.root == tmp_path / "nowhere"
    (line,) = connector.check()
    assert not line.ok and str(tmp_path / "nowhere") in line.detail and "mount" in line.detail
    with pytest.raises(TransientError, match="is the ERP share mounted"):
        connector.pull_events(None)


def test_o1_a_bad_filedrop_setting_is_named(tmp_path):
    config = load_config(_write(tmp_path, '[connector.filedrop]\nformat = "xml"\nfromat = "csv"\n'), environ={})
    with pytest.raises(ConfigError) as err:
        load_connector(config)
    text = str(err.value)
    assert "connector.filedrop.format: Input should be 'json' or 'csv'" in text
    assert "connector.filedrop.fromat: unknown key" in text


def test_o1_environment_overrides_the_file(tmp_path):
    path = _write(tmp_path, "[log]\nlevel = 'info'\n")
    config = load_config(
        path,
        environ={
            "JHT_LOG__LEVEL": "debug",
            "JHT_ORDERS__MAX_LINES": "7",
            "JHT_CONNECTOR__FILEDROP__ENCODING": "gb18030",
        },
    )
    connector = load_connector(config)
    connector.close()
    assert (config.log.level, config.orders.max_lines, connector.settings.encoding) == ("debug", 7, "gb18030")


def test_o1_environment_override_of_an_unknown_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"orders.colour: unknown key"):
        load_config(_write(tmp_path, ""), environ={"JHT_ORDERS__COLOUR": "red"})
    with pytest.raises(ConfigError, match=r"JHT_NOSECTION: .*JHT_<SECTION>__<KEY>"):
        load_config(_write(tmp_path, ""), environ={"JHT_NOSECTION": "1"})


def test_o1_config_file_location_order(tmp_path, monkeypatch):
    explicit = _write(tmp_path, "[bridge]\nname = 'explicit'\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "erp").mkdir()
    (other / "b.toml").write_text("[bridge]\nname = 'from-env'\n")
    env = {"JHT_CONFIG": str(other / "b.toml")}
    assert load_config(explicit, environ=env).bridge.name == "explicit"
    assert load_config(None, environ=env).bridge.name == "from-env"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "erp").mkdir()
    (tmp_path / "var" / "bridge.toml").write_text("[bridge]\nname = 'var'\n")
    assert load_config(None, environ={}).bridge.name == "var"
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "erp").mkdir()
    (tmp_path / "etc" / "bridge.toml").write_text("[bridge]\nname = 'etc'\n")
    assert load_config(None, environ={}).bridge.name == "etc"


def test_o1_relative_paths_are_relative_to_the_config_file(tmp_path):
    config = load_config(_write(tmp_path, ""), environ={})
    connector = load_connector(config)
    connector.close()
    assert connector.root == tmp_path / "erp"
    assert config.database.url == f"sqlite:///{tmp_path / 'bridge.db'}"


def test_secrets_are_refused_in_the_file_and_hidden_when_printed(tmp_path):
    with pytest.raises(ConfigError, match=r"security.token_secret: a secret is not kept in the config file"):
        load_config(_write(tmp_path, "[security]\ntoken_secret = 'abc'\n"), environ={})
    config = load_config(
        _write(tmp_path, ""),
        environ={"JHT_SECURITY__TOKEN_SECRET": "s3cret-value", "JHT_DATABASE__PASSWORD": "pw-value"},
    )
    assert config.security.token_key() == "s3cret-value"
    assert "s3cret-value" not in repr(config) and "pw-value" not in repr(config)
    assert "s3cret-value" not in config.model_dump_json()


@pytest.mark.parametrize(
    "table,key", [("odbc", "connection_string"), ("soap", "http_password"), ("soap", "wsse_password")]
)
def test_connector_secrets_are_refused_in_the_file_but_taken_from_the_environment(tmp_path, table, key):
    text = f"[connector]\nname = 'filedrop'\n[connector.{table}]\n{key} = 'Pwd=hunter2'\n"
    with pytest.raises(
        ConfigError,
        match=rf"connector.{table}.{key}: a secret is not kept in the config file; "
        rf"set JHT_CONNECTOR__{table.upper()}__{key.upper()} or {key}_file",
    ):
        load_config(_write(tmp_path, text), environ={})
    env = {f"JHT_CONNECTOR__{table.upper()}__{key.upper()}": "Pwd=hunter2"}
    config = load_config(_write(tmp_path, "[connector]\nname = 'filedrop'\n"), environ=env)
    assert config.connector.settings_for(table)[key] == "Pwd=hunter2"


def test_database_password_from_the_environment_reaches_the_url_but_not_the_display(tmp_path):
    config = load_config(
        _write(tmp_path, "[database]\nurl = 'postgresql+psycopg://jht@db:5432/jht'\n"),
        environ={"JHT_DATABASE__PASSWORD": "p@ss"},
    )
    assert "p%40ss" in config.database.secret_url()
    assert "p@ss" not in config.database.display_url() and "p%40ss" not in config.database.display_url()


def test_bad_toml_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[orders\n"), environ={})


def test_missing_config_file_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match="jht-bridge init"):
        load_config(tmp_path / "absent.toml", environ={})


def _keys(model, prefix=""):
    from pydantic import BaseModel

    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _keys(annotation, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


def test_the_example_config_documents_every_key_with_its_default(tmp_path):
    """Every key of the config and of the file-drop connector's table (the default connector's
    settings model), with its default value."""
    text = EXAMPLE.read_text(encoding="utf-8")
    # Keys may be commented out (secrets, optional ones) but each must appear.
    documented = set()
    section = ""
    free_form_tables = {"sync.status_map", "notify.templates"}  # tables whose keys are data, not settings
    for line in text.splitlines():
        stripped = line.lstrip("# ").strip()
        if m := re.fullmatch(r"\[([a-z_.]+)\]", line.strip()):
            section = m.group(1) + "."
            if m.group(1) in free_form_tables:
                documented.add(m.group(1))
        elif section.rstrip(".") in free_form_tables:
            continue
        elif m := re.match(r"^([a-z_]+) = ", stripped):
            documented.add(section + m.group(1))
    secrets = {".".join(path) for path in SECRET_KEYS}
    keys = set(_keys(Config)) | set(_keys(FiledropSettings, "connector.filedrop."))
    assert keys - secrets <= documented
    assert documented <= keys
    # The uncommented values are the defaults.
    example = load_config(EXAMPLE, environ={})
    defaults = Config.model_validate({}, context={"base_dir": EXAMPLE.parent})
    filedrop = example.connector.settings_for("filedrop")
    assert filedrop, "the example has a [connector.filedrop] table"
    assert example.model_dump(exclude={"source", "base_dir", "connector"}) == defaults.model_dump(
        exclude={"source", "base_dir", "connector"}
    )
    assert example.connector.name == defaults.connector.name
    context = {"base_dir": EXAMPLE.parent}
    assert FiledropSettings.model_validate(filedrop, context=context) == FiledropSettings.model_validate(
        {}, context=context
    )
    assert tomllib.loads(text)  # and it is valid TOML
