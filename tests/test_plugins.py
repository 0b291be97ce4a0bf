"""The plugin layer (E7): connectors and notifiers come from plugins, chosen by name in the
config; outside plugins can replace a built-in; every hook has a test."""

from __future__ import annotations

import inspect

import pytest

from bridge import hookimpl, hookspecs
from bridge.config import ConfigError, load_config
from bridge.connector import Connector
from bridge.plugins import adjust, connector_classes, load_connector, make_plugin_manager, notifiers
from bridge.wechat import WeChatNotifier
from connectors.filedrop import FiledropConnector
from tests.doubles.memory import MemoryConnector


def _config(tmp_path, text="", **env):
    (tmp_path / "erp").mkdir(exist_ok=True)
    path = tmp_path / "bridge.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ=env)


class ShopErp(MemoryConnector):
    name = "shop_erp"

    from pydantic import BaseModel, ConfigDict

    class Settings(BaseModel):
        model_config = {"extra": "forbid"}
        endpoint: str
        retries: int = 3


class OutsidePlugin:
    @hookimpl
    def register_connectors(self):
        return [ShopErp]

    @hookimpl
    def register_notifiers(self):
        return [Sms()]

    @hookimpl
    def adjust_document(self, kind, document, connector_name):
        if kind == "order.create":
            return {**document, "warehouse": "WH1"}
        return None


class Sms:
    name = "sms"

    def notify(self, kind, payload):
        pass


class ContextPlugin:
    """A notifier that needs the bridge's context (its settings, its database), as the WeChat
    notifier does."""

    @hookimpl
    def register_notifiers(self, config, engine):
        return [Pager(config.bridge.name, engine)]


class Pager:
    name = "pager"

    def __init__(self, bridge_name, engine):
        self.bridge_name, self.engine = bridge_name, engine

    def notify(self, kind, payload):
        pass


class ReplacesFiledrop:
    @hookimpl
    def register_connectors(self):
        class MyFiledrop(MemoryConnector):
            name = "filedrop"

        return [MyFiledrop]


def test_e7_hooks_register_connectors_the_built_in_filedrop(tmp_path):
    pm = make_plugin_manager(load_entrypoints=False)
    assert connector_classes(pm)["filedrop"] is FiledropConnector
    connector = load_connector(_config(tmp_path), pm)
    assert isinstance(connector, FiledropConnector) and connector.settings.root == tmp_path / "erp"
    connector.close()


def test_e7_an_outside_plugin_connector_is_chosen_by_name_with_its_own_settings(tmp_path):
    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=(OutsidePlugin(),))
    config = _config(tmp_path, '[connector]\nname = "shop_erp"\n[connector.shop_erp]\nendpoint = "http://erp"\n')
    connector = load_connector(config, pm)
    assert isinstance(connector, ShopErp) and connector.settings.endpoint == "http://erp"
    assert connector.settings.retries == 3


def test_e7_a_plugin_connectors_bad_setting_is_named(tmp_path):
    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=(OutsidePlugin(),))
    config = _config(tmp_path, '[connector]\nname = "shop_erp"\n[connector.shop_erp]\nendpont = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_connector(config, pm)
    text = str(err.value)
    assert "connector.shop_erp.endpoint: Field required" in text
    assert "connector.shop_erp.endpont: unknown key" in text


def test_e7_an_unknown_connector_name_lists_the_ones_there_are(tmp_path):
    with pytest.raises(
        ConfigError, match=r"connector.name: unknown connector .sap. \(available: filedrop, odbc, soap\)"
    ):
        load_connector(_config(tmp_path, '[connector]\nname = "sap"\n'), make_plugin_manager(load_entrypoints=False))


def test_e7_a_stray_scalar_in_the_connector_section_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="connector.nmae: unknown key"):
        _config(tmp_path, '[connector]\nnmae = "x"\n')


def test_e7_an_outside_plugin_replaces_a_built_in_of_the_same_name(tmp_path):
    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=(ReplacesFiledrop(),))
    assert connector_classes(pm)["filedrop"].__name__ == "MyFiledrop"


def test_hook_register_notifiers_includes_the_log_notifier_and_plugins(tmp_path):
    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=(OutsidePlugin(),))
    assert set(notifiers(pm, _config(tmp_path), None)) == {"log", "sms"}


def test_hook_register_notifiers_gives_each_plugin_the_config_and_the_engine(tmp_path, engine):
    """E7: a notifier plugin gets what it needs from the hook (a plugin taking no arguments,
    like the log notifier, still works)."""
    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=(ContextPlugin(),))
    found = notifiers(pm, _config(tmp_path, '[bridge]\nname = "shop-7"\n'), engine)
    assert set(found) == {"log", "pager"}
    assert found["pager"].bridge_name == "shop-7" and found["pager"].engine is engine


def test_hook_register_notifiers_registers_wechat_only_when_shipment_notices_are_configured(tmp_path, engine):
    """C12: the built-in WeChat notifier is there when wechat.shipment_template_id is set, on
    the bridge's database; a live setup without its AppID / AppSecret is a config error."""
    pm = make_plugin_manager(load_entrypoints=False)
    assert "wechat" not in notifiers(pm, _config(tmp_path, '[wechat]\nmode = "dev"\n'), engine)
    config = _config(tmp_path, '[wechat]\nmode = "dev"\nshipment_template_id = "tmpl-1"\n')
    wechat = notifiers(pm, config, engine)["wechat"]
    assert isinstance(wechat, WeChatNotifier) and wechat.engine is engine
    assert wechat.client.settings.shipment_template_id == "tmpl-1"
    live = _config(tmp_path, '[wechat]\nmode = "live"\nshipment_template_id = "tmpl-1"\n')
    with pytest.raises(ConfigError, match="wechat.appid and JHT_WECHAT__APP_SECRET are needed"):
        notifiers(pm, live, engine)


def test_hook_adjust_document_changes_what_the_connector_gets():
    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=(OutsidePlugin(),))
    assert adjust(pm, "order.create", {"order_no": "A"}, "filedrop") == {"order_no": "A", "warehouse": "WH1"}
    assert adjust(pm, "customer.upsert", {"id": 1}, "filedrop") == {"id": 1}


class Stamp:
    """An adjust_document plugin that appends its name to the document's ``trail``."""

    def __init__(self, name):
        self.name = name

    @hookimpl
    def adjust_document(self, kind, document, connector_name):
        return {**document, "trail": [*document.get("trail", []), self.name]}


class StampFirst(Stamp):
    @hookimpl(tryfirst=True)
    def adjust_document(self, kind, document, connector_name):
        return {**document, "trail": [*document.get("trail", []), self.name]}


class LeavesIt:
    @hookimpl
    def adjust_document(self, kind, document, connector_name):
        document["seen_by_leaves_it"] = list(document.get("trail", []))  # looks, then leaves it
        return None


def test_hook_adjust_document_runs_in_pluggys_order_each_on_what_the_one_before_returned():
    """E8: the last registered plugin first, a ``tryfirst`` one before all; each adjustment gets
    the previous one's document, and a plugin returning None leaves it as it is."""
    pm = make_plugin_manager(
        load_entrypoints=False, extra_plugins=(StampFirst("early"), Stamp("a"), LeavesIt(), Stamp("b"))
    )
    out = adjust(pm, "order.create", {"order_no": "A"}, "filedrop")
    assert out["trail"] == ["early", "b", "a"]
    assert out["seen_by_leaves_it"] == ["early", "b"]


def test_hook_adjust_document_is_called_through_pluggy():
    """Every adjustment is a pluggy hook call, so hook-call monitoring (``JHT_TRACE_HOOKS``)
    and hook wrappers see it."""
    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=(Stamp("a"), Stamp("b")))
    seen = []
    pm.add_hookcall_monitoring(
        lambda hook, impls, kwargs: seen.append((hook, [impl.plugin.name for impl in impls], kwargs["document"])),
        lambda outcome, hook, impls, kwargs: None,
    )
    adjust(pm, "order.create", {"order_no": "A"}, "filedrop")
    assert seen == [
        ("adjust_document", ["b"], {"order_no": "A"}),
        ("adjust_document", ["a"], {"order_no": "A", "trail": ["b"]}),
    ]


class Incomplete(Connector):
    """A plugin's connector that forgot most of the contract."""

    name = "incomplete"

    def push_customer(self, doc):
        return None

    def check(self):
        return []


class IncompletePlugin:
    @hookimpl
    def register_connectors(self):
        return [Incomplete]


def test_e7_a_connector_missing_an_operation_fails_at_load_naming_it_and_what_it_lacks(tmp_path):
    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=(IncompletePlugin(),))
    with pytest.raises(ConfigError) as err:
        load_connector(_config(tmp_path, '[connector]\nname = "incomplete"\n'), pm)
    assert err.value.problems == [
        f"connector.name: connector 'incomplete' ({__name__}.Incomplete) does not implement the operations "
        "order_command, pull_events, push_order, query_stock of bridge.connector.Connector: its plugin is incomplete"
    ]


def test_e7_the_contract_operations_are_abstract_and_the_built_ins_implement_them():
    from connectors.odbc import OdbcConnector
    from connectors.soap import SoapConnector

    assert Connector.__abstractmethods__ == {
        "push_customer",
        "push_order",
        "order_command",
        "query_stock",
        "pull_events",
        "check",
    }
    for cls in (FiledropConnector, OdbcConnector, SoapConnector, MemoryConnector):
        assert not cls.__abstractmethods__, cls


def test_plugin_manager_is_made_fresh_each_time():
    assert make_plugin_manager(load_entrypoints=False) is not make_plugin_manager(load_entrypoints=False)


def test_every_hook_has_a_test():
    """Like datasette's meta-test: a new hook needs a test here naming it."""
    hooks = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "jht_bridge_spec")]
    source = inspect.getsource(inspect.getmodule(test_every_hook_has_a_test))
    tested = {name for name in hooks if f"def test_hook_{name}" in source or f"hooks_{name}" in source}
    assert set(hooks) == tested, f"hooks without a test: {sorted(set(hooks) - tested)}"


def test_the_connector_contract_operations_are_documented():
    for op in ("push_customer", "push_order", "order_command", "query_stock", "pull_events", "check", "ack"):
        assert inspect.getdoc(getattr(Connector, op))
