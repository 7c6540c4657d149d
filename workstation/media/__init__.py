"""Seized-media core: digests, content sniffing, images (PDQ, EXIF, thumbnails), PDQ index,
hash sets, category schemes, safe folder/ZIP walking and parallel analysis.

Submodules are imported explicitly (``from workstation.media.analyse import analyse_many``);
this package module stays empty so importing it costs nothing.
"""
