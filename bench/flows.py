"""Generated 一件事 flows: intake at the window → parallel split → N department reviews → join → delivery.

The XML follows processes/README.md: Camunda namespace, departments are lanes named by the
department's name, the window lane is 综合窗口 (code `window`), every form field has a default.
"""
from __future__ import annotations

from xml.sax.saxutils import quoteattr

WINDOW = ("window", "综合窗口")

# Plausible district departments; codes are ASCII (dept01…), lanes use the Chinese names.
_NAMES = (
    "区市场监督管理局", "区消防救援大队", "区公安分局", "区文化和旅游局", "国网供电公司", "区供水公司",
    "区燃气公司", "区卫生健康委员会", "区生态环境分局", "区住房和城乡建设局", "区自然资源和规划分局",
    "区交通运输局", "区城市管理局", "区税务局", "区人力资源和社会保障局", "区医疗保障局", "区民政局",
    "区教育局", "区农业农村局", "区水务局", "区商务局", "区应急管理局", "区司法局", "区财政局",
    "区发展和改革局", "区工业和信息化局", "区科学技术局", "区统计局", "区退役军人事务局", "区林业局",
    "区气象局", "区烟草专卖局", "区邮政管理局", "区通信管理局", "区不动产登记中心", "区公积金管理中心",
    "区档案馆", "区残疾人联合会", "区红十字会", "区体育局", "区人民防空办公室", "区地震局", "区海关办事处",
    "区出入境管理大队", "区交警大队", "区城关派出所", "区街道办事处", "区国有资产管理局", "区审计局",
    "区数据资源局",
)
MAX_DEPARTMENTS = len(_NAMES)


def departments(n: int) -> list[tuple[str, str]]:
    """The first `n` reviewing departments as (code, name)."""
    if not 1 <= n <= MAX_DEPARTMENTS:
        raise ValueError(f"n must be 1..{MAX_DEPARTMENTS}")
    return [(f"dept{i + 1:02d}", _NAMES[i]) for i in range(n)]


def process_key(n: int) -> str:
    return f"bench_parallel_{n}"


INTAKE_DATA = {"venue_name": "示例场所", "area": 100}
"""What the window submits at acceptance (the intake form's fields)."""


def bpmn_xml(n: int) -> str:
    """BPMN XML of the N-department flow; its process id is `process_key(n)`."""
    key = process_key(n)
    depts = departments(n)
    review_ids = [f"review_{code}" for code, _ in depts]
    lanes = [
        f'      <bpmn:lane id="lane_window" name={quoteattr(WINDOW[1])}>\n'
        + "".join(f"        <bpmn:flowNodeRef>{e}</bpmn:flowNodeRef>\n"
                  for e in ("start", "intake", "split", "join", "delivery", "end_ok"))
        + "      </bpmn:lane>\n"
    ]
    for (code, name), rid in zip(depts, review_ids):
        lanes.append(
            f'      <bpmn:lane id="lane_{code}" name={quoteattr(name)}>\n'
            f"        <bpmn:flowNodeRef>{rid}</bpmn:flowNodeRef>\n"
            "      </bpmn:lane>\n"
        )
    reviews = "".join(
        f'    <bpmn:userTask id="{rid}" name={quoteattr(name + "审查")}>\n'
        "      <bpmn:extensionElements>\n"
        "        <camunda:properties>\n"
        '          <camunda:property name="timeLimitDays" value="5"/>\n'
        f"          <camunda:property name=\"itemName\" value={quoteattr(name + '许可')}/>\n"
        "        </camunda:properties>\n"
        "      </bpmn:extensionElements>\n"
        "    </bpmn:userTask>\n"
        for (_code, name), rid in zip(depts, review_ids)
    )
    flows = ['    <bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="intake"/>\n',
             '    <bpmn:sequenceFlow id="f_intake" sourceRef="intake" targetRef="split"/>\n']
    for rid in review_ids:
        flows.append(f'    <bpmn:sequenceFlow id="f_split_{rid}" sourceRef="split" targetRef="{rid}"/>\n')
        flows.append(f'    <bpmn:sequenceFlow id="f_{rid}_join" sourceRef="{rid}" targetRef="join"/>\n')
    flows.append('    <bpmn:sequenceFlow id="f_join" sourceRef="join" targetRef="delivery"/>\n')
    flows.append('    <bpmn:sequenceFlow id="f_delivery" sourceRef="delivery" targetRef="end_ok"/>\n')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
        '                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"\n'
        f'                  id="defs_{key}" targetNamespace="http://yijianshi.bench/bpmn">\n'
        '  <bpmn:collaboration id="collab">\n'
        f'    <bpmn:participant id="participant" name="{n}部门并联" processRef="{key}"/>\n'
        "  </bpmn:collaboration>\n"
        f'  <bpmn:process id="{key}" name="{n}部门并联一件事（基准）" isExecutable="true">\n'
        '    <bpmn:laneSet id="lanes">\n' + "".join(lanes) + "    </bpmn:laneSet>\n"
        '    <bpmn:startEvent id="start"/>\n'
        '    <bpmn:userTask id="intake" name="受理">\n'
        "      <bpmn:extensionElements>\n"
        '        <camunda:properties><camunda:property name="timeLimitDays" value="1"/></camunda:properties>\n'
        "        <camunda:formData>\n"
        '          <camunda:formField id="venue_name" label="场所名称" type="string" defaultValue="示例场所"/>\n'
        '          <camunda:formField id="area" label="面积" type="long" defaultValue="100"/>\n'
        "        </camunda:formData>\n"
        "      </bpmn:extensionElements>\n"
        "    </bpmn:userTask>\n"
        '    <bpmn:parallelGateway id="split"/>\n'
        + reviews
        + '    <bpmn:parallelGateway id="join"/>\n'
        '    <bpmn:userTask id="delivery" name="一窗出件">\n'
        "      <bpmn:extensionElements>\n"
        '        <camunda:properties><camunda:property name="taskKind" value="delivery"/></camunda:properties>\n'
        "        <camunda:formData>\n"
        '          <camunda:formField id="delivery_method" label="出件方式" type="enum" defaultValue="pickup">\n'
        '            <camunda:value id="pickup" name="窗口领取"/>\n'
        '            <camunda:value id="ems" name="免费邮寄"/>\n'
        "          </camunda:formField>\n"
        "        </camunda:formData>\n"
        "      </bpmn:extensionElements>\n"
        "    </bpmn:userTask>\n"
        '    <bpmn:endEvent id="end_ok"/>\n'
        + "".join(flows)
        + "  </bpmn:process>\n"
        "</bpmn:definitions>\n"
    )
