"""The supervisor's review tabs as widgets (issue 11): one module per tab, its CSS in the
`.tcss` beside it, and what they share (`context`, `labels`, `pane`).

The screens that hold them live in `console.screens.supervisor`; a tab never imports a
screen (the seat's layers contract): where it needs one opened (a call's detail, the
holiday-notice dialog) it posts a message and `SupervisorScreen` pushes the screen.
"""
