"""A tiny synthetic corpus for the routing tests: four first-level categories of the small demo jurisdiction,
each with its own words, so that a model trained on it in a second is confident on clear messages."""

from __future__ import annotations

import json
from pathlib import Path

PLACES = ["花园社区", "和平社区", "光明社区", "幸福社区", "东城街道", "西城街道", "人民路", "建设路", "朝阳小区", "滨河小区"]

TOPICS: dict[str, list[tuple[str, str]]] = {
    "城乡建设": [
        ("{p}路灯不亮", "{p}的路灯坏了好几天，晚上漆黑一片，请尽快维修路灯。"),
        ("{p}井盖松动", "{p}人行道井盖松动破损，行人容易踩空，请修复井盖。"),
        ("{p}突然停水", "{p}今天停水没有通知，自来水一直没来，请尽快恢复供水。"),
        ("{p}道路坑洼", "{p}路面坑洼积水，市政道路破损严重，请安排修路。"),
    ],
    "环境保护": [
        ("{p}工地夜间噪音", "{p}旁边工地夜里施工噪音扰民，机器轰鸣无法入睡。"),
        ("{p}工厂排放废气", "{p}附近工厂排放刺鼻废气，空气污染严重，请环保部门查处。"),
        ("{p}河道污水", "{p}河道有人偷排污水，水体发黑发臭，污染环境。"),
        ("{p}烧烤油烟污染", "{p}烧烤店油烟直排，污染空气，居民窗户都是油污。"),
    ],
    "劳动和社会保障": [
        ("{p}拖欠工资", "我在{p}的工地打工，老板拖欠工资三个月不发，请帮忙讨薪。"),
        ("{p}公司不交社保", "{p}一家公司不给员工缴纳社会保险，也不签劳动合同。"),
        ("{p}讨要欠薪", "{p}包工头拖欠农民工工资，工人讨薪无门，请劳动监察处理。"),
        ("{p}辞退不给补偿", "{p}单位违法辞退员工，不支付经济补偿金，劳动仲裁咨询。"),
    ],
    "交通运输": [
        ("{p}车辆乱停", "{p}门口车辆乱停乱放，占用消防通道，交通堵塞。"),
        ("{p}公交车绕行", "{p}公交线路改道，公交车站取消，乘客出行不便。"),
        ("{p}红绿灯故障", "{p}路口红绿灯故障，车辆抢行，交通秩序混乱。"),
        ("{p}出租车拒载", "{p}出租车司机拒载乘客，还乱收费，请交通部门管理。"),
    ],
}


def records(n_per_label: int = 20) -> list[dict[str, str]]:
    out = []
    for label, templates in TOPICS.items():
        for i in range(n_per_label):
            title, detail = templates[i % len(templates)]
            place = PLACES[(i * 3 + len(label)) % len(PLACES)]
            out.append({"title": title.format(p=place), "detail": detail.format(p=place), "label": label})
    return out


def write(path: Path, recs: list[dict[str, str]] | None = None) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in (recs or records())),
                    encoding="utf-8")
    return path


# messages used by the tests
CLEAR_WAGES = ("讨要拖欠的工资", "老板拖欠工资半年不发，工地农民工讨薪无门，请劳动监察帮忙讨薪。")
CLEAR_NOISE = ("工地夜间施工噪音扰民", "工地每天夜里施工，噪音很大，机器轰鸣，居民无法入睡。")
CLEAR_WATER = ("小区停水没有通知", "今天突然停水，自来水一直没来，也没有通知，请尽快恢复供水。")
VAGUE = ("有个问题想反映", "请问这个事情应该找哪个部门？")
