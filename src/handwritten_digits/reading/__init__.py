"""Reading an image, as one-way stages: each module takes the previous one's output.

=============  =================================  ==========================================
stage          module                             input -> output
=============  =================================  ==========================================
decode         :mod:`.decode`                     bytes, path, PIL image or array -> GrayImage
ink            :mod:`.ink`                        GrayImage -> InkMap (soft ink, mask, components)
segment        :mod:`.segment`                    InkMap -> pieces (one digit each, soft-ink crops)
normalize      :mod:`.normalize`                  a piece's crop -> the 28x28 input a model sees
(model)        :mod:`handwritten_digits.runtime`  28x28 inputs -> probabilities
reader         :mod:`.reader`                     composes them all -> ReadResult
=============  =================================  ==========================================

No stage imports a later one, and only the interfaces (CLI, server) import the reader; the import
contract in ``tests/test_architecture.py`` keeps it so. This file imports nothing on purpose: importing
one stage must not pull in the others.
"""
