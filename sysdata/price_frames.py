"""Column layouts of stored price frames, and their validation."""
from __future__ import annotations

import pandas as pd

from syscore.exceptions import InvalidData
from sysdata.timeseries.arctic_store import normalise_frame

CONTRACT_PRICE_COLUMNS = ["OPEN", "HIGH", "LOW", "FINAL", "VOLUME"]
MULTIPLE_PRICE_COLUMNS = [
    "CARRY", "CARRY_CONTRACT", "PRICE", "PRICE_CONTRACT", "FORWARD", "FORWARD_CONTRACT"
]
MULTIPLE_CONTRACT_COLUMNS = ["CARRY_CONTRACT", "PRICE_CONTRACT", "FORWARD_CONTRACT"]
MULTIPLE_PRICE_VALUE_COLUMNS = ["CARRY", "PRICE", "FORWARD"]
ADJUSTED_PRICE_COLUMN = "price"
FX_PRICE_COLUMN = "PRICE"
ROLL_CALENDAR_COLUMNS = ["current_contract", "next_contract", "carry_contract"]


def check_columns(frame: pd.DataFrame, required: list[str], what: str) -> pd.DataFrame:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InvalidData(f"{what}: missing columns {missing}; expected {required}")
    return frame[required]


def contract_id_text(values: pd.Series, what: str) -> pd.Series:
    """Contract ids as 8-character ``YYYYMMDD`` text (``DD`` may be ``00``)."""
    def one(value) -> str:
        if isinstance(value, float):
            if value != value:
                raise InvalidData(f"{what}: missing contract id")
            value = int(value)
        text = str(value).strip()
        if len(text) == 6 and text.isdigit():
            text += "00"
        if len(text) != 8 or not text.isdigit():
            raise InvalidData(f"{what}: contract id {value!r} is not YYYYMMDD")
        return text

    return values.map(one).astype(object)


def validate_contract_prices(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    frame = normalise_frame(frame, what)
    frame = check_columns(frame, CONTRACT_PRICE_COLUMNS, what)
    return frame.astype(float)


def validate_multiple_prices(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    frame = normalise_frame(frame, what)
    frame = check_columns(frame, MULTIPLE_PRICE_COLUMNS, what).copy()
    for column in MULTIPLE_PRICE_VALUE_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="raise").astype(float)
    for column in MULTIPLE_CONTRACT_COLUMNS:
        frame[column] = contract_id_text(frame[column], f"{what} {column}")
    return frame


def validate_single_column(frame, column: str, what: str) -> pd.DataFrame:
    if isinstance(frame, pd.Series):
        frame = frame.to_frame(column)
    frame = normalise_frame(frame, what)
    frame = check_columns(frame, [column], what)
    return frame.astype(float)


def validate_roll_calendar(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    frame = normalise_frame(frame, what)
    frame = check_columns(frame, ROLL_CALENDAR_COLUMNS, what).copy()
    for column in ROLL_CALENDAR_COLUMNS:
        frame[column] = contract_id_text(frame[column], f"{what} {column}")
    return frame
