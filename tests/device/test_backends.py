"""The hardware roles' scheme -> factory tables: every entry names a real factory, the config
accepts exactly the schemes the tables hold, and a wrong scheme is one sentence naming the role."""
import pytest

from device.common.errors import UserError
from device.engines.engine_backends import ENGINES
from device.viewer import config
from device.viewer.camera_backends import CAMERAS
from device.viewer.display_backends import DISPLAYS
from device.viewer.led_backends import LEDS

TABLES = (CAMERAS, LEDS, DISPLAYS, ENGINES)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.role)
def test_every_scheme_names_a_factory_that_exists(table):
    for scheme in table.schemes:
        assert callable(table.factory(scheme)), f"{scheme}:// -> {table.factories[scheme]}"


def config_errors(tmp_path, section: str, uri: str) -> str:
    path = tmp_path / "c.toml"
    path.write_text(f'[{section}]\nuri = "{uri}"\n')
    try:
        config.load_config(path, check_model=False)
    except UserError as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.role)
def test_config_accepts_exactly_the_schemes_its_table_holds(tmp_path, table):
    section = table.role.split(".")[0]
    for scheme in table.schemes:
        assert "unknown scheme" not in config_errors(tmp_path, section, f"{scheme}://x")
    assert (f"{table.role} 'usb://x' has unknown scheme 'usb'; expected one of "
            + ", ".join(f"{s}://" for s in table.schemes)) in config_errors(tmp_path, section,
                                                                            "usb://x")


def test_unknown_scheme_is_one_sentence_naming_the_role_and_the_known_schemes():
    with pytest.raises(UserError, match=r"^leds.uri 'usb://x' has unknown scheme 'usb'; expected "
                                        r"one of gpio://, sim://\.$"):
        LEDS.open("usb://x")
