"""Flask extensions, unbound here and bound to the app in create_app()."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from htmx_flask import Htmx

from domain.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()
babel = Babel()  # the locale is chosen per request in blueprints._web.layer.select_locale
# Only the login form is limited (blueprints/auth); storage is the app's Redis (see app.py).
limiter = Limiter(key_func=get_remote_address)
