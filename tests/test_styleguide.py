"""The style guide page: every component of the stylesheet, in development only."""

from __future__ import annotations

import re

from raceapp import create_app
from tests.helpers import stylesheet_colours


def test_the_style_guide_shows_every_component(client):
    page = client.get("/styleguide").get_data(as_text=True)
    for component in (
        "card",
        "banner-status",
        "pill",
        "tabs",
        "list",
        "btn",
        "empty-state",
        "toast",
        "countdown",
        "choice",
    ):
        assert f'class="{component}' in page or f" {component}" in page, component
    # Each colour token the stylesheet defines has its swatch.
    tokens = set(stylesheet_colours()[0])
    shown = set(re.findall(r'data-token="([a-z0-9-]+)"', page))
    assert (
        tokens
        - {"line-strong", "on-fill", "on-accent", "danger-line", "ok-line", "warn-line", "you"}
        <= shown
    )


def test_the_style_guide_is_not_served_in_production(tmp_path):
    app = create_app("testing")
    app.config.update(TESTING=False, DEBUG=False)
    assert app.test_client().get("/styleguide").status_code == 404
