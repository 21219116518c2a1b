"""A catalog of planning tasks: realistic tool sets whose names differ from the tasks' fields.

Each task has a task text, input and output models, the tools offered, sample inputs and a
``reference`` that computes the expected output by calling the tools directly (``None``: the
task is impossible with these tools; a planner must refuse it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

# ------------------------------------------------------------------------------ tools


class CityQuery(BaseModel):
    city_name: str


class Forecast(BaseModel):
    temperature_celsius: float
    conditions: str = Field(description="Sky conditions, such as cloudy.")
    wind_kph: float


def weather_lookup(query: CityQuery) -> Forecast:
    """Current weather forecast for a city."""
    table = {"Paris": (18.5, "cloudy", 12.0), "Oslo": (-3.0, "snow", 20.0)}
    temp, sky, wind = table.get(query.city_name, (10.0, "clear", 5.0))
    return Forecast(temperature_celsius=temp, conditions=sky, wind_kph=wind)


class Place(BaseModel):
    location: str


class Coordinates(BaseModel):
    latitude: float
    longitude: float


def geocode(query: Place) -> Coordinates:
    """Latitude and longitude of a place."""
    return Coordinates(latitude=len(query.location) * 1.5, longitude=-len(query.location) * 0.5)


class Conversion(BaseModel):
    amount: float
    target_currency: str


class Converted(BaseModel):
    converted_amount: float


def currency_convert(request: Conversion) -> Converted:
    """Convert an amount in euros into another currency."""
    rates = {"USD": 1.1, "GBP": 0.85, "JPY": 160.0}
    return Converted(converted_amount=round(request.amount * rates[request.target_currency], 2))


class EmailMessage(BaseModel):
    recipient: str = Field(description="E-mail address of the recipient.")
    subject: str
    body: str


class Delivery(BaseModel):
    message_id: str
    accepted: bool


OUTBOX: list[EmailMessage] = []


def send_email(message: EmailMessage) -> Delivery:
    """Send an e-mail message."""
    OUTBOX.append(message)
    return Delivery(message_id=f"m{len(message.body)}", accepted=True)


class SmsRequest(BaseModel):
    phone_number: str
    message: str


class SmsReceipt(BaseModel):
    delivered: bool
    segments: int


def send_sms(request: SmsRequest) -> SmsReceipt:
    """Send a text message (SMS) to a phone number."""
    return SmsReceipt(delivered=True, segments=1 + len(request.message) // 160)


class CustomerRef(BaseModel):
    customer_id: str


class CustomerRecord(BaseModel):
    full_name: str
    email_address: str
    mobile: str = Field(description="Mobile phone number.")
    loyalty_tier: str


def crm_lookup(request: CustomerRef) -> CustomerRecord:
    """Look a customer up in the CRM."""
    return CustomerRecord(
        full_name=f"Customer {request.customer_id}",
        email_address=f"{request.customer_id}@example.com",
        mobile=f"+33 6 {request.customer_id}",
        loyalty_tier="gold" if request.customer_id.startswith("g") else "basic",
    )


class OrderRef(BaseModel):
    order_number: str


class OrderDetails(BaseModel):
    total_eur: float
    item_count: int
    buyer_id: str = Field(description="The customer id of the buyer.")


def order_lookup(request: OrderRef) -> OrderDetails:
    """Details of an order."""
    n = len(request.order_number)
    return OrderDetails(total_eur=n * 10.0, item_count=n, buyer_id=f"c{n}")


class ParcelQuery(BaseModel):
    tracking_code: str


class ParcelStatus(BaseModel):
    shipment_state: str
    eta_days: int


def parcel_tracker(query: ParcelQuery) -> ParcelStatus:
    """Where a parcel is and when it arrives."""
    return ParcelStatus(shipment_state="in transit", eta_days=len(query.tracking_code) % 5)


class StockQuery(BaseModel):
    sku: str
    warehouse: str = "main"


class StockLevel(BaseModel):
    units_available: int
    reorder_needed: bool


def inventory_check(query: StockQuery) -> StockLevel:
    """Units of a product (by SKU) in stock in a warehouse."""
    units = sum(ord(c) for c in query.sku) % 40
    return StockLevel(units_available=units, reorder_needed=units < 10)


class TranslationRequest(BaseModel):
    source_text: str
    language: str


class Translation(BaseModel):
    translated_text: str


def translate(request: TranslationRequest) -> Translation:
    """Translate a text into a language."""
    return Translation(translated_text=f"[{request.language}] {request.source_text}")


class TaxQuery(BaseModel):
    net_amount: float
    country_code: str


class TaxResult(BaseModel):
    vat: float
    gross_amount: float


def vat_calculator(query: TaxQuery) -> TaxResult:
    """VAT and gross amount of a net amount in a country."""
    rate = {"FR": 0.2, "DE": 0.19}.get(query.country_code, 0.1)
    return TaxResult(
        vat=round(query.net_amount * rate, 2), gross_amount=round(query.net_amount * (1 + rate), 2)
    )


class Slot(BaseModel):
    attendee_email: str
    start_iso: str
    title: str


class Booking(BaseModel):
    event_id: str
    confirmed: bool


def calendar_book(slot: Slot) -> Booking:
    """Book a meeting in the calendar."""
    return Booking(event_id=f"ev-{slot.start_iso[:10]}", confirmed=True)


class TextIn(BaseModel):
    document: str


class Sentiment(BaseModel):
    polarity: float = Field(description="From -1 (negative) to 1 (positive).")
    label: str


def sentiment_analyzer(request: TextIn) -> Sentiment:
    """Sentiment of a document."""
    score = 0.8 if "good" in request.document else -0.4
    return Sentiment(polarity=score, label="positive" if score > 0 else "negative")


class Summary(BaseModel):
    abstract: str


def summarizer(request: TextIn) -> Summary:
    """A one-sentence summary of a document."""
    return Summary(abstract=request.document.split(".")[0][:60])


class UrlIn(BaseModel):
    url: str


class PageContent(BaseModel):
    html_title: str
    word_count: int


def fetch_page(request: UrlIn) -> PageContent:
    """Download a web page."""
    return PageContent(html_title=f"Title of {request.url}", word_count=len(request.url) * 7)


class Distance(BaseModel):
    origin: str
    destination: str


class Route(BaseModel):
    distance_km: float
    duration_minutes: int


def route_planner(request: Distance) -> Route:
    """Driving distance and time between two places."""
    km = abs(len(request.origin) - len(request.destination)) * 40.0 + 10.0
    return Route(distance_km=km, duration_minutes=int(km / 1.2))


class IpQuery(BaseModel):
    ip_address: str


class IpInfo(BaseModel):
    country: str
    isp: str


def ip_geolocate(query: IpQuery) -> IpInfo:
    """Country and provider of an IP address."""
    return IpInfo(country="FR" if query.ip_address.startswith("8") else "DE", isp="ExampleNet")


class Ticket(BaseModel):
    summary_line: str
    severity: Literal["low", "high"]
    reporter_email: str


class TicketCreated(BaseModel):
    ticket_key: str


def create_ticket(ticket: Ticket) -> TicketCreated:
    """Open a ticket in the issue tracker."""
    return TicketCreated(ticket_key=f"OPS-{len(ticket.summary_line)}")


class PasswordIn(BaseModel):
    password: str


class Strength(BaseModel):
    entropy_bits: float
    acceptable: bool


def password_strength(request: PasswordIn) -> Strength:
    """How strong a password is."""
    bits = len(request.password) * 4.0
    return Strength(entropy_bits=bits, acceptable=bits >= 40)


ALL_TOOLS = [
    weather_lookup,
    geocode,
    currency_convert,
    send_email,
    send_sms,
    crm_lookup,
    order_lookup,
    parcel_tracker,
    inventory_check,
    translate,
    vat_calculator,
    calendar_book,
    sentiment_analyzer,
    summarizer,
    fetch_page,
    route_planner,
    ip_geolocate,
    create_ticket,
    password_strength,
]

# ------------------------------------------------------------------------------ tasks


@dataclass
class Task:
    """One planning task and how to compute its expected output with the tools."""

    name: str
    task: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    tools: list[Callable[..., Any]]
    inputs: list[dict[str, Any]]
    reference: Callable[[Any], BaseModel] | None  # None: impossible with these tools


TASKS: list[Task] = []


def task(
    name: str,
    text: str,
    input_model: type[BaseModel],
    output_model: type[BaseModel],
    tools: list[Callable[..., Any]] | None,
    inputs: list[dict[str, Any]],
    reference: Callable[[Any], BaseModel] | None,
) -> None:
    TASKS.append(Task(name, text, input_model, output_model, tools or ALL_TOOLS, inputs, reference))


# 1. weather by city, names differ
class CityIn(BaseModel):
    city: str


class Temp(BaseModel):
    temperature: float


task(
    "city_temperature",
    "The current temperature in a city.",
    CityIn,
    Temp,
    None,
    [{"city": "Paris"}, {"city": "Oslo"}],
    lambda i: Temp(temperature=weather_lookup(CityQuery(city_name=i.city)).temperature_celsius),
)


# 2. weather conditions + wind
class SkyOut(BaseModel):
    sky_conditions: str
    wind_speed_kph: float


task(
    "city_sky",
    "Sky conditions and wind speed in a city.",
    CityIn,
    SkyOut,
    None,
    [{"city": "Oslo"}],
    lambda i: SkyOut(
        sky_conditions=weather_lookup(CityQuery(city_name=i.city)).conditions,
        wind_speed_kph=weather_lookup(CityQuery(city_name=i.city)).wind_kph,
    ),
)


# 3. geocode
class PlaceIn(BaseModel):
    place: str


class LatLon(BaseModel):
    lat: float = Field(description="Latitude in degrees.")
    lon: float = Field(description="Longitude in degrees.")


task(
    "place_coordinates",
    "Latitude and longitude of a place.",
    PlaceIn,
    LatLon,
    None,
    [{"place": "Eiffel Tower"}],
    lambda i: LatLon(
        lat=geocode(Place(location=i.place)).latitude,
        lon=geocode(Place(location=i.place)).longitude,
    ),
)


# 4. currency
class PriceIn(BaseModel):
    price_eur: float
    currency: str


class PriceOut(BaseModel):
    converted_price: float


task(
    "convert_price",
    "Convert a price in euros into the given currency.",
    PriceIn,
    PriceOut,
    None,
    [{"price_eur": 10.0, "currency": "USD"}, {"price_eur": 3.0, "currency": "JPY"}],
    lambda i: PriceOut(
        converted_price=currency_convert(
            Conversion(amount=i.price_eur, target_currency=i.currency)
        ).converted_amount
    ),
)


# 5. customer contact from the CRM
class CustomerIn(BaseModel):
    customer_id: str


class Contact(BaseModel):
    name: str = Field(description="The customer's full name.")
    email: str
    phone: str = Field(description="Mobile phone number.")


task(
    "customer_contact",
    "The contact details of a customer.",
    CustomerIn,
    Contact,
    None,
    [{"customer_id": "g42"}],
    lambda i: Contact(
        name=crm_lookup(CustomerRef(customer_id=i.customer_id)).full_name,
        email=crm_lookup(CustomerRef(customer_id=i.customer_id)).email_address,
        phone=crm_lookup(CustomerRef(customer_id=i.customer_id)).mobile,
    ),
)


# 6. order total
class OrderIn(BaseModel):
    order_number: str


class OrderTotal(BaseModel):
    total: float
    items: int = Field(description="How many items the order has.")


task(
    "order_total",
    "The total and the item count of an order.",
    OrderIn,
    OrderTotal,
    None,
    [{"order_number": "A-1001"}],
    lambda i: OrderTotal(
        total=order_lookup(OrderRef(order_number=i.order_number)).total_eur,
        items=order_lookup(OrderRef(order_number=i.order_number)).item_count,
    ),
)


# 7. order buyer's tier (chain through buyer id)
class Tier(BaseModel):
    buyer_loyalty_tier: str


task(
    "order_buyer_tier",
    "The loyalty tier of the customer who placed an order.",
    OrderIn,
    Tier,
    None,
    [{"order_number": "A-1"}],
    lambda i: Tier(
        buyer_loyalty_tier=crm_lookup(
            CustomerRef(customer_id=order_lookup(OrderRef(order_number=i.order_number)).buyer_id)
        ).loyalty_tier
    ),
)


# 8. parcel
class TrackingIn(BaseModel):
    tracking_number: str


class ParcelOut(BaseModel):
    state: str = Field(description="Shipment state of the parcel.")
    days_to_arrival: int = Field(description="Estimated days until the parcel arrives (ETA).")


task(
    "parcel_state",
    "Where a parcel is and in how many days it arrives.",
    TrackingIn,
    ParcelOut,
    None,
    [{"tracking_number": "1Z999"}],
    lambda i: ParcelOut(
        state=parcel_tracker(ParcelQuery(tracking_code=i.tracking_number)).shipment_state,
        days_to_arrival=parcel_tracker(ParcelQuery(tracking_code=i.tracking_number)).eta_days,
    ),
)


# 9. stock
class ProductIn(BaseModel):
    sku: str


class StockOut(BaseModel):
    units_in_stock: int
    needs_reorder: bool


task(
    "stock_level",
    "How many units of a product are in stock, and whether to reorder.",
    ProductIn,
    StockOut,
    None,
    [{"sku": "SKU-7"}],
    lambda i: StockOut(
        units_in_stock=inventory_check(StockQuery(sku=i.sku)).units_available,
        needs_reorder=inventory_check(StockQuery(sku=i.sku)).reorder_needed,
    ),
)


# 10. VAT
class InvoiceIn(BaseModel):
    net_price: float
    country: str = Field(description="Two-letter country code.")


class InvoiceOut(BaseModel):
    vat_amount: float
    gross_price: float


task(
    "invoice_vat",
    "VAT and gross price of an invoice.",
    InvoiceIn,
    InvoiceOut,
    None,
    [{"net_price": 100.0, "country": "FR"}],
    lambda i: InvoiceOut(
        vat_amount=vat_calculator(TaxQuery(net_amount=i.net_price, country_code=i.country)).vat,
        gross_price=vat_calculator(
            TaxQuery(net_amount=i.net_price, country_code=i.country)
        ).gross_amount,
    ),
)


# 11. sentiment
class ReviewIn(BaseModel):
    review_text: str


class ReviewOut(BaseModel):
    sentiment_label: str
    sentiment_score: float = Field(description="Polarity from -1 to 1.")


task(
    "review_sentiment",
    "The sentiment of a customer review.",
    ReviewIn,
    ReviewOut,
    None,
    [{"review_text": "A good product."}],
    lambda i: ReviewOut(
        sentiment_label=sentiment_analyzer(TextIn(document=i.review_text)).label,
        sentiment_score=sentiment_analyzer(TextIn(document=i.review_text)).polarity,
    ),
)


# 12. page title
class PageIn(BaseModel):
    page_url: str


class PageOut(BaseModel):
    title: str
    words: int


task(
    "page_title",
    "The title and word count of a web page.",
    PageIn,
    PageOut,
    None,
    [{"page_url": "https://example.com"}],
    lambda i: PageOut(
        title=fetch_page(UrlIn(url=i.page_url)).html_title,
        words=fetch_page(UrlIn(url=i.page_url)).word_count,
    ),
)


# 13. route
class TripIn(BaseModel):
    start_city: str = Field(description="Where the trip starts (origin).")
    end_city: str = Field(description="Where the trip ends (destination).")


class TripOut(BaseModel):
    km: float = Field(description="Driving distance in km.")
    minutes: int = Field(description="Driving duration in minutes.")


task(
    "trip_distance",
    "Driving distance and time between two cities.",
    TripIn,
    TripOut,
    None,
    [{"start_city": "Paris", "end_city": "Amsterdam"}],
    lambda i: TripOut(
        km=route_planner(Distance(origin=i.start_city, destination=i.end_city)).distance_km,
        minutes=route_planner(
            Distance(origin=i.start_city, destination=i.end_city)
        ).duration_minutes,
    ),
)


# 14. IP country
class VisitorIn(BaseModel):
    visitor_ip: str


class VisitorOut(BaseModel):
    visitor_country: str


task(
    "visitor_country",
    "The country a visitor connects from.",
    VisitorIn,
    VisitorOut,
    None,
    [{"visitor_ip": "8.8.8.8"}],
    lambda i: VisitorOut(visitor_country=ip_geolocate(IpQuery(ip_address=i.visitor_ip)).country),
)


# 15. password check
class SignupIn(BaseModel):
    new_password: str


class SignupOut(BaseModel):
    password_acceptable: bool
    password_entropy: float


task(
    "password_check",
    "Whether a new password is strong enough, and its entropy.",
    SignupIn,
    SignupOut,
    None,
    [{"new_password": "correct horse"}],
    lambda i: SignupOut(
        password_acceptable=password_strength(PasswordIn(password=i.new_password)).acceptable,
        password_entropy=password_strength(PasswordIn(password=i.new_password)).entropy_bits,
    ),
)


# 16. order total in another currency (chain)
class OrderFx(BaseModel):
    order_number: str
    currency: str


class OrderFxOut(BaseModel):
    order_total_converted: float


task(
    "order_total_in_currency",
    "The total of an order converted into a currency.",
    OrderFx,
    OrderFxOut,
    None,
    [{"order_number": "B-22", "currency": "GBP"}],
    lambda i: OrderFxOut(
        order_total_converted=currency_convert(
            Conversion(
                amount=order_lookup(OrderRef(order_number=i.order_number)).total_eur,
                target_currency=i.currency,
            )
        ).converted_amount
    ),
)


# 17. price in two currencies (tool used twice, constants)
class TwoPrices(BaseModel):
    usd: float
    gbp: float


task(
    "price_in_usd_and_gbp",
    "A price in euros, in US dollars and in pounds.",
    PriceIn,
    TwoPrices,
    None,
    [{"price_eur": 20.0, "currency": "unused"}],
    lambda i: TwoPrices(
        usd=currency_convert(
            Conversion(amount=i.price_eur, target_currency="USD")
        ).converted_amount,
        gbp=currency_convert(
            Conversion(amount=i.price_eur, target_currency="GBP")
        ).converted_amount,
    ),
)


# 18. send a weather report e-mail (template body)
class ReportIn(BaseModel):
    city: str
    email: str


class ReportOut(BaseModel):
    email_accepted: bool


def _weather_mail(i: Any) -> ReportOut:
    weather = weather_lookup(CityQuery(city_name=i.city))
    return ReportOut(
        email_accepted=send_email(
            EmailMessage(
                recipient=i.email,
                subject=f"Weather in {i.city}",
                body=f"{weather.temperature_celsius} C, {weather.conditions}",
            )
        ).accepted
    )


task(
    "weather_email",
    "E-mail the weather of a city (temperature and conditions) to an address.",
    ReportIn,
    ReportOut,
    None,
    [{"city": "Paris", "email": "a@example.com"}],
    _weather_mail,
)


# 19. SMS the customer that the parcel is coming (template message)
class NotifyIn(BaseModel):
    customer_id: str
    tracking_number: str


class NotifyOut(BaseModel):
    sms_delivered: bool


def _parcel_sms(i: Any) -> NotifyOut:
    customer = crm_lookup(CustomerRef(customer_id=i.customer_id))
    parcel = parcel_tracker(ParcelQuery(tracking_code=i.tracking_number))
    return NotifyOut(
        sms_delivered=send_sms(
            SmsRequest(
                phone_number=customer.mobile,
                message=f"Hello {customer.full_name}, your parcel arrives in {parcel.eta_days} days.",
            )
        ).delivered
    )


task(
    "parcel_sms",
    "Text the customer when their parcel arrives.",
    NotifyIn,
    NotifyOut,
    None,
    [{"customer_id": "g1", "tracking_number": "1Z9"}],
    _parcel_sms,
)


# 20. translate a review summary (chain)
class ForeignIn(BaseModel):
    article: str
    target_language: str


class ForeignOut(BaseModel):
    translated_summary: str


task(
    "translated_summary",
    "A one-sentence summary of an article, translated into a language.",
    ForeignIn,
    ForeignOut,
    None,
    [{"article": "Prices rose. Then fell.", "target_language": "de"}],
    lambda i: ForeignOut(
        translated_summary=translate(
            TranslationRequest(
                source_text=summarizer(TextIn(document=i.article)).abstract,
                language=i.target_language,
            )
        ).translated_text
    ),
)


# 21. nested output object built from a tool's fields
class Position(BaseModel):
    latitude: float
    longitude: float


class Located(BaseModel):
    position: Position
    place: str


task(
    "located_place",
    "A place with its position.",
    PlaceIn,
    Located,
    None,
    [{"place": "Louvre"}],
    lambda i: Located(
        position=Position(
            latitude=geocode(Place(location=i.place)).latitude,
            longitude=geocode(Place(location=i.place)).longitude,
        ),
        place=i.place,
    ),
)


# 22. nested input, two levels down
class Address(BaseModel):
    street: str
    city: str


class Shopper(BaseModel):
    name: str
    address: Address


class ShopperIn(BaseModel):
    shopper: Shopper


class LocalWeather(BaseModel):
    local_temperature: float


task(
    "shopper_weather",
    "The temperature where a shopper lives.",
    ShopperIn,
    LocalWeather,
    None,
    [{"shopper": {"name": "Ada", "address": {"street": "1 Main", "city": "Oslo"}}}],
    lambda i: LocalWeather(
        local_temperature=weather_lookup(
            CityQuery(city_name=i.shopper.address.city)
        ).temperature_celsius
    ),
)


# 23. book a meeting (template title)
class MeetingIn(BaseModel):
    customer_id: str
    start_time: str = Field(description="ISO start time.")


class MeetingOut(BaseModel):
    booking_confirmed: bool
    event_id: str


def _meeting(i: Any) -> MeetingOut:
    customer = crm_lookup(CustomerRef(customer_id=i.customer_id))
    booking = calendar_book(
        Slot(
            attendee_email=customer.email_address,
            start_iso=i.start_time,
            title=f"Call with {customer.full_name}",
        )
    )
    return MeetingOut(booking_confirmed=booking.confirmed, event_id=booking.event_id)


task(
    "book_customer_call",
    "Book a call with a customer at a time.",
    MeetingIn,
    MeetingOut,
    None,
    [{"customer_id": "c7", "start_time": "2024-06-01T10:00"}],
    _meeting,
)


# 24. open a ticket (constant severity, template summary)
class IncidentIn(BaseModel):
    page_url: str
    reporter: str = Field(description="E-mail of the reporter.")


class IncidentOut(BaseModel):
    ticket: str = Field(description="The key of the ticket opened.")


def _incident(i: Any) -> IncidentOut:
    page = fetch_page(UrlIn(url=i.page_url))
    created = create_ticket(
        Ticket(
            summary_line=f"Page down: {page.html_title}",
            severity="high",
            reporter_email=i.reporter,
        )
    )
    return IncidentOut(ticket=created.ticket_key)


task(
    "incident_ticket",
    "Open a high-severity ticket about a page that is down.",
    IncidentIn,
    IncidentOut,
    None,
    [{"page_url": "https://shop.example.com", "reporter": "ops@example.com"}],
    _incident,
)


# 25. stock of a product in a given depot (optional input passed on)
class DepotIn(BaseModel):
    sku: str
    warehouse: str


class DepotOut(BaseModel):
    available_units: int


task(
    "depot_stock",
    "Units of a product available in a warehouse.",
    DepotIn,
    DepotOut,
    None,
    [{"sku": "A1", "warehouse": "north"}],
    lambda i: DepotOut(
        available_units=inventory_check(
            StockQuery(sku=i.sku, warehouse=i.warehouse)
        ).units_available
    ),
)


# 26-31: impossible with these tools


class Humidity(BaseModel):
    humidity_percent: int


task("city_humidity", "The humidity in a city.", CityIn, Humidity, None, [{"city": "Oslo"}], None)


class Population(BaseModel):
    population: int


task(
    "city_population",
    "How many people live in a city.",
    CityIn,
    Population,
    None,
    [{"city": "Oslo"}],
    None,
)


class Refund(BaseModel):
    refund_issued: bool


task(
    "refund_order",
    "Refund an order to the customer.",
    OrderIn,
    Refund,
    None,
    [{"order_number": "A-1"}],
    None,
)


class StockPrice(BaseModel):
    share_price_usd: float


class TickerIn(BaseModel):
    ticker: str


task(
    "share_price",
    "The share price of a listed company.",
    TickerIn,
    StockPrice,
    None,
    [{"ticker": "ACME"}],
    None,
)


class FaxOut(BaseModel):
    fax_sent: bool


task(
    "fax_customer",
    "Send a fax to a customer.",
    CustomerIn,
    FaxOut,
    None,
    [{"customer_id": "c1"}],
    None,
)


class Unit(BaseModel):
    unit: Literal["C"]
    dew_point: float


task(
    "dew_point",
    "The dew point in a city, in degrees Celsius.",
    CityIn,
    Unit,
    None,
    [{"city": "Paris"}],
    None,
)


# 32. only the relevant subset of tools, where a second tool competes
class MailIn(BaseModel):
    customer_id: str


class MailOut(BaseModel):
    customer_email: str
    customer_name: str


task(
    "customer_email_only",
    "The e-mail address and name of a customer.",
    MailIn,
    MailOut,
    None,
    [{"customer_id": "c3"}],
    lambda i: MailOut(
        customer_email=crm_lookup(CustomerRef(customer_id=i.customer_id)).email_address,
        customer_name=crm_lookup(CustomerRef(customer_id=i.customer_id)).full_name,
    ),
)


__all__ = ["TASKS", "Task", "ALL_TOOLS", "OUTBOX"]
