"""The edits' settings classes: the command line and the GUI panels accept the same ranges and
choices, because both are built from the fields (blurstudio.edit.settings)."""

import dataclasses

import pytest

from blurstudio.commands import build_parser
from blurstudio.edit.settings import DeblurSettings, MagnifySettings, SelectSettings
from blurstudio.errors import InputError
from blurstudio.gui.panels import EditorContext
from blurstudio.gui.panels.deblur import DeblurPanel
from blurstudio.gui.panels.magnify import MagnifyPanel
from blurstudio.gui.panels.select import SelectPanel


def _cli_accepts(command: str, field: dataclasses.Field, value) -> bool:
    flag = "--" + field.name.replace("_", "-")
    try:
        args = build_parser().parse_args([command, "photo.jpg", "-o", "out.png", flag, str(value)])
    except SystemExit:
        return False
    return getattr(args, field.name) == pytest.approx(value) if "range" in field.metadata else getattr(args, field.name) == value


def _check_cli_and_gui(qtbot, capsys, settings_class, command: str, panel_class, widgets: dict[str, str]) -> None:
    ctx = EditorContext()
    panel = panel_class(ctx)
    qtbot.addWidget(panel)
    assert panel.settings() == settings_class()  # the same defaults
    for field in dataclasses.fields(settings_class):
        widget = getattr(panel, widgets[field.name])
        if "choices" in field.metadata:
            choices = field.metadata["choices"]
            assert [widget.itemData(i) for i in range(widget.count())] == list(choices)
            assert all(_cli_accepts(command, field, c) for c in choices) and not _cli_accepts(command, field, "nonsense")
            continue
        low, high = field.metadata["range"]
        ends = []
        for position in (widget.minimum(), widget.maximum()):
            widget.setValue(position)
            ends.append(getattr(panel.settings(), field.name))
        assert sorted(ends) == [low, high]  # the slider reaches both ends and no further
        assert _cli_accepts(command, field, low) and _cli_accepts(command, field, high)
        span = high - low
        assert not _cli_accepts(command, field, low - 0.01 * span) and not _cli_accepts(command, field, high + 0.01 * span)
        with pytest.raises(InputError, match=field.name.replace("_", " ")):
            settings_class(**{field.name: high + span})
    capsys.readouterr()  # argparse's complaints
    ctx.wait_for_workers()


def test_select_settings_are_the_same_in_the_cli_and_the_gui(qtbot, capsys):
    _check_cli_and_gui(qtbot, capsys, SelectSettings, "select", SelectPanel,
                       {"target": "target", "threshold": "range", "edge_width": "edge", "solver": "solver"})


def test_magnify_settings_are_the_same_in_the_cli_and_the_gui(qtbot, capsys):
    _check_cli_and_gui(qtbot, capsys, MagnifySettings, "magnify", MagnifyPanel,
                       {"amount": "amount", "bokeh": "bokeh", "highlight_boost": "boost"})


def test_deblur_settings_are_the_same_in_the_cli_and_the_gui(qtbot, capsys):
    _check_cli_and_gui(qtbot, capsys, DeblurSettings, "deblur", DeblurPanel,
                       {"method": "method", "strength": "strength", "smoothness": "smoothness",
                        "radius": "radius", "length": "length", "angle": "angle"})
