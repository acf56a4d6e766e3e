#!/usr/bin/env python3
"""Summarise a ceph/s3-tests JUnit XML into Strata's compatibility groups.

usage: summarize.py JUNIT_XML [--failures]

Core groups are what the single-node S3 server issue is measured on (listing,
object read/write, multipart, copy, ranges, conditionals, SigV4). Tests of
features Strata does not implement (ACL grants, policies, object lock, SSE,
versioning, tagging, logging, lifecycle, CORS, browser POST, SigV2, RGW
extensions) are counted separately under "feature not implemented".
"""
import re
import sys
import xml.etree.ElementTree as ET

NOT_CORE = [
    ("sigv2", r"_aws2$|_v2$|aws2"),
    ("sse/encryption", r"sse|encrypt|kms|_enc"),
    ("object lock/retention", r"object_lock|retention|legal_hold|bypass"),
    ("versioning", r"versioning|versioned|version_id|delete_marker|_current_|_version_|versions"),
    ("acl grants/policy/public access", r"acl|policy|public|access_bucket|grant|ownership|owner|anon|authenticated|block|object_raw|not_owned|100_continue|expected_bucket|object_writer|_gone"),
    ("tagging", r"tag"),
    ("logging", r"logging"),
    ("lifecycle", r"lifecycle|restore"),
    ("cors", r"cors"),
    ("browser POST", r"post_object|presignedpost"),
    ("RGW extensions/usage", r"usage|unordered|rgw|head_extended|account|tenant|atomic_dual|atomic_conditional|buckets_list_ctime"),
    ("notifications/select/iam", r"notification|s3select|sts|iam|sns|torrent|website|bucket_recreate_new_acl|object_lambda|replication"),
]

CORE = [
    ("conditionals", r"if_?match|if_?none_?match|ifmatch|ifnonmatch|if_?modified|if_?unmodified|condition|precondition"),
    ("sigv4 (header, presigned, chunked)", r"presigned|expires|aws4|sigv4|chunk|signature|authorization|_date_|bad_date|amz_date|bad_ua|x_amz|checksum|content_sha|contentsha"),
    ("ranges", r"range"),
    ("multipart", r"multipart|upload|_part"),
    ("copy", r"copy"),
    ("listing", r"list"),
    ("object read/write", r"."),
]


def classify(classname, name):
    base = re.sub(r"\[.*\]$", "", name)
    base = base[5:] if base.startswith("test_") else base
    for group, pattern in NOT_CORE:
        if re.search(pattern, base):
            return False, group
    for group, pattern in CORE:
        if re.search(pattern, base):
            return True, group
    return True, "object read/write"


def main():
    path = sys.argv[1]
    show_failures = "--failures" in sys.argv
    rows = {}
    failures = []
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("name")
        if not name:
            continue
        kinds = {child.tag for child in case}
        outcome = "failed" if kinds & {"failure", "error"} else "skipped" if "skipped" in kinds else "passed"
        core, group = classify(case.get("classname", ""), name)
        key = (core, group)
        counts = rows.setdefault(key, {"passed": 0, "failed": 0, "skipped": 0})
        counts[outcome] += 1
        if outcome == "failed" and core:
            message = ""
            for child in case:
                if child.tag in ("failure", "error"):
                    message = (child.get("message") or "").replace("\n", " ")[:140]
            failures.append((group, name, message))
    for core in (True, False):
        print(f"\n{'Core groups' if core else 'Feature not implemented (not core)'}\n")
        print("| group | pass | fail | skip | pass rate |")
        print("|---|---|---|---|---|")
        total = {"passed": 0, "failed": 0, "skipped": 0}
        for (is_core, group), counts in sorted(rows.items()):
            if is_core != core:
                continue
            for k in total:
                total[k] += counts[k]
            ran = counts["passed"] + counts["failed"]
            rate = f"{100 * counts['passed'] / ran:.0f} %" if ran else "–"
            print(f"| {group} | {counts['passed']} | {counts['failed']} | {counts['skipped']} | {rate} |")
        ran = total["passed"] + total["failed"]
        rate = f"{100 * total['passed'] / ran:.0f} %" if ran else "–"
        print(f"| **total** | {total['passed']} | {total['failed']} | {total['skipped']} | {rate} |")
    if show_failures:
        print("\nCore failures\n")
        for group, name, message in sorted(failures):
            print(f"- {group}: `{name}` — {message}")


if __name__ == "__main__":
    main()
