"""The whole path of one demand, end to end through the services."""

from __future__ import annotations

import pytest

from conftest import at
from massline.core import clock, events
from massline.demands import services
from massline.demands.intake import IntakeData
from massline.demands.models import Demand, State


def _raise(city, **kw):
    data = dict(channel="hotline", type="complaint", title="小区门口路灯不亮", content="花园社区北门路灯已经坏了一周，晚上很黑。",
                category_id=city.categories["市政设施"].pk, place_id=city.grids[0].pk, name="陈女士",
                phone="13800001234")
    data.update(kw)
    return services.receive(IntakeData(**data), city.users["intake"])


@pytest.mark.django_db
def test_a_demand_goes_all_the_way(city):
    u = city.users
    with clock.frozen(at(2026, 11, 2, 9, 30)):
        d, secret = _raise(city)
        assert d.state == State.RECEIVED and len(secret) == 10
        services.accept(d.pk, u["intake"], restatement="北门路灯坏了一周")
        d = services.dispatch(d.pk, u["dispatcher"])
        # the street's own entry beats the district-wide one for the same category
        assert d.lead_unit == city.streets[0]
        assert d.due_at == at(2026, 11, 11, 9, 30)  # 7 working days
    with clock.frozen(at(2026, 11, 2, 10, 0)):
        services.sign(d.pk, u["handler_street1"])
        services.start(d.pk, u["handler_street1"])
        services.reply(d.pk, u["handler_street1"], text="已安排维修人员于今日下午更换北门路灯灯泡并检修线路，现已恢复照明。")
    with clock.frozen(at(2026, 11, 3, 10, 0)):
        d = services.callback_by_person(d.code, secret, resolved=True, satisfaction="satisfied")
    assert d.state == State.CLOSED
    assert list(events.verify()) == []
    actions = list(Demand.objects.get(pk=d.pk).pk for _ in [0])
    assert actions
