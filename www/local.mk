# www/: the demo page (echo and chat panels), served by the static module at "/".
dist_website_DATA = www/index.html
