"""The payloads of the toy connector's two operations."""

from __future__ import annotations

from pydantic import Field

from adapters.shared.payloads import HeaderText, PayloadModel


class GetNote(PayloadModel):
    """Read one note."""

    note_id: HeaderText = Field(pattern=r"^[a-z0-9-]{1,40}$", description="The note's id.")


class AddNote(PayloadModel):
    """Write a new note."""

    text: str = Field(min_length=1, max_length=500, description="What the note says.")
