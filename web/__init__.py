"""The static web pages (HTML, CSS, ES modules); a package only so wheels ship them."""
