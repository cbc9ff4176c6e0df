"""The Brief: what every engine's findings become, and the JSON contract other programs read.

`Brief` is the general shape; `brief_model(template)` derives the model that
validates a brief made with one template (section keys, order and item kinds),
so a new section is a change to a template file, not to code.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from briefer.templates import SectionSpec, Template


class Citation(BaseModel):
    """Sentence `sentence` of source `source`, quoted verbatim; `start`/`end` are its offsets."""

    source: str
    sentence: int = Field(ge=1)
    quote: str
    start: int | None = None
    end: int | None = None

    @property
    def ref(self) -> str:
        return f"{self.source}:{self.sentence}"


class Unsupported(BaseModel):
    """Why an item's citations do not support it: `reason` is `number`, `name`, `negation` or
    `content` (under half its words are in them); `detail` says what, when that helps."""

    model_config = ConfigDict(frozen=True)

    reason: str
    detail: str = ""


class StandardTerm(BaseModel):
    """A machine-paraphrased phrase as the source writes it, and the standard term it stands for."""

    model_config = ConfigDict(frozen=True)

    phrase: str
    standard: str


class Item(BaseModel):
    """One line of a section, with the sentences it came from.

    People items also carry `name` and `role`; `supported` is False when the
    cited sentences do not back the text, with the reason in `unsupported` (only
    engines that write in their own words set them; quoted sentences need no check).
    From a likely machine-paraphrased source, `standard_terms` lists the spun phrases
    the text holds with their standard terms, and `role_standard` is the role in standard terms.
    """

    text: str
    citations: list[Citation] = Field(min_length=1)
    name: str | None = None
    role: str | None = None
    supported: bool | None = None
    unsupported: Unsupported | None = None
    sources: int | None = Field(default=None, description="how many sources the citations span")
    role_standard: str | None = None
    standard_terms: list[StandardTerm] | None = None


class PersonItem(Item):
    name: str


class Section(BaseModel):
    """One section of a brief, as the template names it, with its items in the brief's order."""

    key: str
    title: str
    items: list[Item] = Field(default_factory=list)


class SpunMatch(BaseModel):
    """A spun phrase found in sentence `sentence` of a source, and its standard term."""

    sentence: int
    phrase: str
    standard: str


class Paraphrase(BaseModel):
    """Whether a source is likely machine-paraphrased ("spun"), its rate of spun phrases per
    thousand words, and the phrases found."""

    likely: bool
    per_1000_words: float
    matches: list[SpunMatch] = Field(default_factory=list)


class SourceInfo(BaseModel):
    """A source as the brief lists it: `items` is how many of the brief's items cite it;
    `paraphrase` says whether it is likely machine-paraphrased."""

    id: str
    path: str
    title: str
    date: str | None = None
    chars: int | None = None
    sentences: int | None = None
    items: int | None = None
    paraphrase: Paraphrase | None = None


class EngineInfo(BaseModel):
    name: str
    model: str | None = None


class Usage(BaseModel):
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_calls: int | None = None
    """Requests answered from the local cache instead of the model (LLM engines only)."""


class Verification(BaseModel):
    """What verification found: the brief's citations checked against the sources, items dropped
    for citing no real sentence, and items whose citations do not support them."""

    citations_checked: int = 0
    items_dropped: int = 0
    items_unsupported: int = 0
    unsupported_by_reason: dict[str, int] | None = None
    """Unsupported items by the check they failed: number, name, negation, content."""


class Brief(BaseModel):
    """A brief: its sources, the template's sections, where sources differ, the engine, what model
    calls cost, and what verification found. `to_json()` is the JSON contract (`--format json`)."""

    model_config = ConfigDict(extra="forbid")

    title: str
    template: str
    sources: list[SourceInfo]
    sections: list[Section]
    differences: list[Item] = Field(
        default_factory=list, description="where sources differ: each item cites both sides"
    )
    engine: EngineInfo
    usage: Usage = Field(default_factory=Usage)
    verification: Verification = Field(default_factory=Verification)

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, exclude_none=True)

    def to_json_bytes(self) -> bytes:
        """`to_json` encoded in UTF-8, made as bytes: a long input's brief is megabytes of JSON, and
        a Python string of it takes two or four bytes a character once one is not ASCII."""
        return self.__pydantic_serializer__.to_json(self, indent=2, exclude_none=True)


def brief_model(template: Template) -> type[Brief]:
    """The pydantic model of a brief made with `template`: its sections, in order, and nothing else."""
    section_models = tuple(_section_model(spec) for spec in template.sections)
    sections_type: Any = tuple.__class_getitem__(section_models)
    template_type: Any = Literal[template.name]
    return create_model(
        f"{_camel(template.name)}Brief",
        __base__=Brief,
        template=(template_type, template.name),
        sections=(sections_type, ...),
    )


def _section_model(spec: SectionSpec) -> type[Section]:
    item_type: Any = PersonItem if spec.items == "people" else Item
    key_type: Any = Literal[spec.key]
    return create_model(
        f"{_camel(spec.key)}Section",
        __base__=Section,
        key=(key_type, spec.key),
        title=(str, spec.title),
        items=(list[item_type], Field(default_factory=list, max_length=spec.max_items)),
    )


def _camel(key: str) -> str:
    return "".join(part.capitalize() for part in key.replace("-", "_").split("_"))
