"""The district's geography: subdistricts (街道) and their communities (社区)."""

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base


class Subdistrict(Base):
    __tablename__ = "subdistricts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(120))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)


class Community(Base):
    __tablename__ = "communities"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subdistrict_id: Mapped[str] = mapped_column(ForeignKey("subdistricts.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(120))
