"""The report bugs of issue 14: charts and cells a commissioner reads."""

from __future__ import annotations

import pandas as pd

from allocator.report.html import (
    format_value,
    provider_use,
    table_html,
    unmet_chart,
    utilisation_chart,
)


def test_unmet_chart_draws_beds_when_only_beds_are_unmet():
    zones = pd.DataFrame({"zone": ["z1", "z2"], "unmet_hours": [0.0, 0.0],
                          "unmet_beds": [2.0, 0.0]})
    assert unmet_chart(zones) is not None  # was an empty hours chart
    nothing = zones.assign(unmet_beds=0.0)
    assert unmet_chart(nothing) is None  # no chart rather than an empty one


def test_bed_only_provider_is_in_the_utilisation_chart():
    providers = pd.DataFrame({"provider": ["home", "living"], "utilisation": [0.5, float("nan")],
                              "beds": [0.0, 4.0], "beds_used": [0.0, 3.0]})
    use = provider_use(providers)
    assert list(use) == [0.5, 0.75]
    assert utilisation_chart(providers) is not None


def test_counts_shares_and_money_read_as_people_write_them():
    assert format_value(1.0, "count") == "1"
    assert format_value(2.5, "count") == "2.5"  # an expectation over scenarios
    assert format_value(0.69, "percent") == "69%"
    assert format_value(0.125, "percent") == "12.5%"
    assert format_value(1234.5, "money", "GBP") == "£1,234.50"
    assert format_value(True, "flag") == "yes"
    html = table_html(pd.DataFrame({"zone": ["z1"], "unmet_people": [1.0], "largest_share": [0.69],
                                    "framework_cost": [10.0]}))
    assert ">1<" in html and ">69%<" in html and "£10.00" in html and "1.00" not in html
    assert "People unmet" in html and 'class="scroll"' in html
