"""Payments: the PaymentProvider port, its pure adapters, and the service that applies events.

Adapters: `cod` (cash on delivery), `bank_transfer` (VietQR, confirmed by staff) here;
`shop.adapters.stripe_payments.StripePayments` (Checkout Sessions + webhooks) beside the
other technology adapters. Money is integer đồng end to end.
"""
