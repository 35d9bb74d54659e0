"""E-mail delivery: composing and sending (sending), where messages go when no SMTP server is
set (mailbox, which the demo's /dev/mail page reads), and which addresses can receive mail
(addresses). The e-mails themselves are templates in templates/email/."""
