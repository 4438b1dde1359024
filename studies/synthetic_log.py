"""A synthetic interaction log in the shape users bring (CSV or Parquet shards), written shard by shard so that
10 M events never sit in memory. Clicks follow a known logistic model, so a trained ranker has signal to find.

Columns: request_id, ts (ISO-8601), device, region, item_id ("sku-N"), price, quality, recent_items ("sku-a|sku-b"),
click. Ten impressions per request.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SCHEMA = """[columns]
item = "item_id"
label = "click"
timestamp = "ts"
context = ["device", "region"]
numeric = ["price", "quality"]
history = "recent_items"

[lists]
group_by = ["request_id"]

[encoding]
item_buckets = 4096
history_len = 5
"""
PER_REQUEST = 10
ITEMS = 2000


def write_log(folder: Path, events: int, shards: int = 1, kind: str = "csv", seed: int = 0) -> Path:
    """`events` rows in `shards` files under folder, plus schema.toml; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    item_bias = rng.normal(-3.0, 0.3, ITEMS)  # popularity alone explains little; features and context do
    item_price = rng.lognormal(3.0, 0.6, ITEMS).round(2)
    item_quality = rng.beta(2, 2, ITEMS).round(3)
    per_shard = -(-events // shards)
    start = 1_700_000_000
    written = 0
    for s in range(shards):
        n = min(per_shard, events - written)
        if n <= 0:
            break
        requests = (written + np.arange(n)) // PER_REQUEST
        items = rng.integers(0, ITEMS, n)
        device = np.array(["low", "high", "tablet"])[requests % 3]
        region = np.char.add("r", (requests % 8).astype(str))
        ts = pd.to_datetime(start + requests * 37, unit="s", utc=True).strftime("%Y-%m-%dT%H:%M:%SZ")
        hour = (start + requests * 37) // 3600 % 24
        recent = rng.integers(0, ITEMS, (n, 2))
        logit = (item_bias[items] + 3.0 * item_quality[items] - 0.04 * item_price[items] * (device == "low")
                 + 0.8 * (np.abs(items - recent[:, 0]) < 100) + 0.3 * np.sin(hour / 24 * 2 * np.pi))
        click = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
        df = pd.DataFrame({
            "request_id": requests, "ts": ts, "device": device, "region": region,
            "item_id": np.char.add("sku-", items.astype(str)), "price": item_price[items],
            "quality": item_quality[items],
            "recent_items": np.char.add(np.char.add(np.char.add("sku-", recent[:, 0].astype(str)), "|sku-"),
                                        recent[:, 1].astype(str)),
            "click": click})
        path = folder / f"part-{s:05d}.{kind}"
        if kind == "csv":
            df.to_csv(path, index=False)
        else:
            df.to_parquet(path, index=False)
        written += n
    (folder / "schema.toml").write_text(SCHEMA)
    return folder
