"""Documents packed for DynamoDB (issue 10): JSON compressed with zlib, which DynamoDB bills by the KB of the
whole item, twice in a transaction.

An incident is saved with every change, and its document is mostly the same keys and phrases every time: zlib
starts each small document from nothing, so a preset dictionary of them (zlib's `zdict`) takes an incident
from about 1.3 KB to under 1 KB, where a write costs half. zlib's header names the dictionary a stream needs
(its Adler-32), so a dictionary, once written, must never change: add a new one for new shapes and keep every
old one here, for reading.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

# v1 (issue 10): phrases an incident repeats (ARNs, values of enums, CloudWatch's alarm reasons, closure notes;
# no account or region), then the incident document's keys in the order they are dumped (the nearest last).
INCIDENT_V1 = (
    b"arn:aws:cloudwatch::alarm:arn:aws:states::execution:firebell-escalation:firebell-sla:-sla-0-resolution-at-risk"
    b'-response-at-risk:firebell-reminder:-review-0-updates-1firebell-resolution:-resolution-0"cloudwatch_alarm"'
    b'"triggered""acknowledged""resolved""closed""application""high""medium""ALARM""OK"Threshold Crossed: '
    b"datapoints were greater than the threshold (minimum datapoints for OK -> ALARM transition). recovered: "
    b"Closed automatically: not reopened within the confirmation window. Resolution: "
    b'{"title":null,"description":null,"source":null,"dedup_key":null,"service":null,"alarm":{"name":null,"arn":null,'
    b'"state":null,"reason":null,"description":null,"namespace":null,"metric":null,"dimensions":null,"region":null,'
    b'"account_id":null,"changed_at":null,"actions_suppressed_by":null},"labels":{},"custom_details":{},"links":[],'
    b'"category":null,"impact":null,"urgency":null,"sla":{"response":{"target_minutes":null,"at_risk_at":null,'
    b'"due_at":null,"met_at":null,"at_risk_notified_at":null,"breached_at":null},"resolution":{"target_minutes":null,'
    b'"at_risk_at":null,"due_at":null,"met_at":null,"at_risk_notified_at":null,"breached_at":null},"paused_since":null,'
    b'"paused_seconds":null,"generation":null,"execution_arn":null},"assignee":null,"incident_manager":null,'
    b'"acknowledged_at":null,"acknowledged_by":null,"resolved_at":null,"resolved_by":null,"resolution_notes":null,'
    b'"auto_resolved":null,"reopened_count":null,"closed_at":null,"closed_by":null,"closure_notes":null,'
    b'"escalation":{"execution_arn":null,"runs":null,"level":null,"round":null,"task_token":null,"watching":null,'
    b'"exhausted":null,"deferred_until":null,"paged_at_start":null,"escalate_on_first_request":null},'
    b'"resolution":{"execution_arn":null,"task_token":null},"review":{"execution_arn":null,"task_token":null,'
    b'"reminders_sent":null,"owner":null,"due_at":null,"completed_at":null,"completed_by":null,"summary":null},'
    b'"updates":{"execution_arn":null,"task_token":null,"reminders_sent":null,"every_minutes":null,'
    b'"last_update_at":null,"overdue_rounds":null},"last_change":null}'
)

# Every dictionary ever written, by the id zlib's header carries (RFC 1950: FDICT, then DICTID).
_DICTIONARIES = {zlib.adler32(d): d for d in (INCIDENT_V1,)}


def pack(value: Any, dictionary: bytes | None = None) -> bytes:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    packer = zlib.compressobj(9, zdict=dictionary) if dictionary else zlib.compressobj(9)
    return packer.compress(text) + packer.flush()


def unpack(data: bytes) -> Any:
    if data[1] & 0x20:  # FDICT: packed with the dictionary whose Adler-32 follows the two header bytes
        unpacker = zlib.decompressobj(zdict=_DICTIONARIES[int.from_bytes(data[2:6], "big")])
    else:
        unpacker = zlib.decompressobj()
    return json.loads(unpacker.decompress(data) + unpacker.flush())
