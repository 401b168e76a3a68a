"""Synthetic bank customer-service messages for throughput benchmarks (fixed seed, distinct).

Every message is written from the templates below: an optional greeting, one request about a
banking topic (cards, transfers, fees, refunds, top-ups, the app, the account), then context and
feeling sentences until a target length drawn uniformly from ``min_words`` to ``max_words``.
Amounts, dates, merchants and references fill the slots, so duplicates are rare and are
dropped: a benchmark over these texts never hits the engine's cache.
"""

from __future__ import annotations

import random

GREETINGS = (
    "Hi,",
    "Hello,",
    "Hey there,",
    "Good morning,",
    "Good evening,",
    "Hi team,",
    "Dear support,",
    "Hello again,",
)

REQUESTS = (
    "Where is my new card?",
    "My card still has not arrived.",
    "I ordered a replacement card {days} days ago and it never came.",
    "How long does card delivery to {city} take?",
    "I lost my card somewhere in {city}, please freeze it.",
    "Someone stole my wallet with my {card} card inside.",
    "My card was swallowed by an ATM at {merchant}.",
    "My PIN is blocked after three wrong tries.",
    "How do I change the PIN on my {card} card?",
    "Why was I charged a {amount} fee for an ATM withdrawal?",
    "There is a payment of {amount} to {merchant} that I do not recognise.",
    "I was charged twice for the same purchase at {merchant}.",
    "The exchange rate on my payment in {city} looks wrong.",
    "My transfer of {amount} to my landlord has not arrived.",
    "How long does a transfer to another bank take?",
    "Can I cancel the transfer I made on {date}?",
    "I sent {amount} to the wrong account by mistake.",
    "My top-up of {amount} by bank transfer is still pending.",
    "Why did my top-up with a card fail?",
    "Is there a fee for topping up by card?",
    "My refund from {merchant} is not showing up.",
    "I returned an order to {merchant} on {date} and still have no refund.",
    "My balance did not update after the cheque deposit.",
    "I want to close my account.",
    "How do I verify my identity in the app?",
    "The app keeps crashing when I open my statements.",
    "Can I link my card to Apple Pay or Google Pay?",
    "My contactless payments stopped working today.",
    "My card was declined at {merchant} even though I have money.",
    "I need a virtual card for online shopping.",
    "How do I get a disposable card?",
    "My salary of {amount} has not appeared in my balance.",
    "Why is my account {ref} restricted?",
    "I cannot withdraw cash abroad in {city}.",
    "The ATM gave me less cash than it debited.",
    "I forgot my passcode and cannot log in.",
    "How can I change my address before the new card is sent?",
    "Can my {relative} get a card on my account?",
    "What currencies can I hold in my account?",
    "A direct debit of {amount} was taken twice this month.",
)

CONTEXT = (
    "This happened on {date}.",
    "I contacted you on {date} but nobody replied.",
    "My reference is {ref}.",
    "The amount was {amount}.",
    "I am travelling in {city} for {days} days.",
    "I already checked the app and it shows nothing.",
    "My {relative} had the same problem last week.",
    "The merchant says they sent the money back {days} days ago.",
    "I have been a customer for {years} years.",
    "I tried again this morning and it still does not work.",
    "The last four digits of the card are {digits}.",
    "I need this sorted before my rent is due on {date}.",
    "The chat bot sent me in circles twice.",
    "I restarted my phone and reinstalled the app.",
    "It says pending next to the payment.",
    "Your website says it should take one working day.",
    "I also got an email asking for my details, is that from you?",
    "The payment was in {currency}.",
    "I was standing at the till at {merchant} with a queue behind me.",
    "My {card} card expires next month anyway.",
)

FEELINGS = (
    "This is really frustrating.",
    "I am quite worried about this.",
    "Thanks for your help.",
    "Please sort this out as soon as possible.",
    "Honestly this is unacceptable.",
    "I would appreciate a quick answer.",
    "Thank you, the app is otherwise great.",
    "I am very disappointed with the service.",
    "No rush, just curious.",
    "Can someone call me back?",
    "I will move to another bank if this goes on.",
    "Many thanks in advance.",
)

SLOTS: dict[str, tuple[str, ...]] = {
    "city": ("London", "Madrid", "Berlin", "Lisbon", "Dublin", "Paris", "Rome", "Warsaw"),
    "card": ("debit", "credit", "virtual", "metal", "business", "joint"),
    "merchant": ("Amazon", "Tesco", "Uber", "IKEA", "Zara", "Ryanair", "Spotify", "Lidl"),
    "relative": ("wife", "husband", "son", "daughter", "partner", "mother", "flatmate"),
    "currency": ("euros", "dollars", "pounds", "zloty", "francs", "kroner"),
}


def generate_messages(
    n: int, *, seed: int = 20240611, min_words: int = 5, max_words: int = 60
) -> list[str]:
    """`n` distinct messages of `min_words` to `max_words` words, the same for the same seed."""
    if not 5 <= min_words <= max_words:
        raise ValueError("need 5 <= min_words <= max_words")
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        text = _message(rng, rng.randint(min_words, max_words))
        words = len(text.split())
        if min_words <= words <= max_words and text not in seen:
            seen.add(text)
            out.append(text)
    return out


def _message(rng: random.Random, target_words: int) -> str:
    parts = [_fill(rng, rng.choice(REQUESTS))]
    if target_words > 8 and rng.random() < 0.4:
        request = parts[0] if parts[0].startswith("I ") else parts[0][0].lower() + parts[0][1:]
        parts[0] = f"{rng.choice(GREETINGS)} {request}"
    words = sum(len(p.split()) for p in parts)
    while words < target_words - 4:
        pool = FEELINGS if rng.random() < 0.25 else CONTEXT
        sentence = _fill(rng, rng.choice(pool))
        if sentence in parts:
            continue
        parts.append(sentence)
        words += len(sentence.split())
    return " ".join(parts)


def _fill(rng: random.Random, template: str) -> str:
    values = {name: rng.choice(choices) for name, choices in SLOTS.items()}
    values |= {
        "amount": f"{rng.choice(('£', '€', '$'))}{rng.randint(3, 2500)}.{rng.randint(0, 99):02d}",
        "date": f"{rng.randint(1, 28)} {rng.choice(_MONTHS)}",
        "ref": f"{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}{rng.randint(100000, 999999)}",
        "days": str(rng.randint(2, 21)),
        "years": str(rng.randint(1, 12)),
        "digits": f"{rng.randint(0, 9999):04d}",
    }
    return template.format(**values)


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August")
