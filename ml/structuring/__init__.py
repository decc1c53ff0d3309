"""Video content structuring: shot boundaries (``shots``), class-agnostic region proposals
(``proposals``) and tracking of proposals into tracklets (``tracking``)."""
