"""The PHP and shell text of a WordPress site: wp-config additions, .htaccess and the
wp-cli install script. Every value is checked by ``check_spec`` first and escaped for its
language all the same (single-quoted PHP strings, ``shlex.quote``)."""

from __future__ import annotations

import shlex

from realnet.providers.kubernetes.wordpress.spec import (
    ADMIN_USER,
    DB_PAUSE,
    DB_TRIES,
    PLUGIN_PAUSE,
    PLUGIN_TRIES,
    SiteSpec,
    admin_email_of,
    site_url,
    title_of,
)


def _php(value: str) -> str:
    """A PHP single-quoted string literal: only backslash and quote are special in one."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def config_extra(spec: SiteSpec) -> str:
    """WORDPRESS_CONFIG_EXTRA: PHP that the image's wp-config.php evaluates, in the site and in
    the install Job alike, so that wp-cli installs the network WordPress then serves.

    WP_HOME and WP_SITEURL are deliberately not defined: WordPress applies them to the
    ``home``/``siteurl`` options of every site of a network (the option_home filter), which would
    point every sub-site at the main one. The main site's URLs come from the install
    (``--url`` = :func:`site_url`), the sub-sites' from DOMAIN_CURRENT_SITE and their own rows.
    """
    subdomains = "true" if spec.multisite == "subdomain" else "false"
    lines = [
        "define( 'WP_ALLOW_MULTISITE', true );",
        "define( 'MULTISITE', true );",
        f"define( 'SUBDOMAIN_INSTALL', {subdomains} );",
        f"define( 'DOMAIN_CURRENT_SITE', {_php(spec.host)} );",
        "define( 'PATH_CURRENT_SITE', '/' );",
        "define( 'SITE_ID_CURRENT_SITE', 1 );",
        "define( 'BLOG_ID_CURRENT_SITE', 1 );",
    ]
    return "\n".join(lines) + "\n"


def htaccess(spec: SiteSpec) -> str:
    """Apache's rewrite rules for a network (WordPress's own, Network Setup): the image's
    single-site ones would send /<site>/wp-admin/ of a sub-directory network to the main site."""
    prefix = "([_0-9a-zA-Z-]+/)?" if spec.multisite == "subdirectory" else ""
    target = "$2" if prefix else "$1"
    return "\n".join([
        "# BEGIN WordPress Multisite (written by Realnet at every start)",
        "RewriteEngine On",
        "RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]",
        "RewriteBase /",
        r"RewriteRule ^index\.php$ - [L]",
        f"RewriteRule ^{prefix}wp-admin$ {'$1' if prefix else ''}wp-admin/ [R=301,L]",
        "RewriteCond %{REQUEST_FILENAME} -f [OR]",
        "RewriteCond %{REQUEST_FILENAME} -d",
        "RewriteRule ^ - [L]",
        f"RewriteRule ^{prefix}(wp-(content|admin|includes).*) {target} [L]",
        rf"RewriteRule ^{prefix}(.*\.php)$ {target} [L]",
        "RewriteRule . index.php [L]",
        "# END WordPress Multisite",
        "",
    ])


def install_script(spec: SiteSpec) -> str:
    """The install Job's ``sh -c`` script: idempotent (a network already installed is left
    alone, an active plugin stays active), so a retry or a new Job after a change is safe."""
    url = shlex.quote(site_url(spec))
    install = [
        "wp core multisite-install --skip-config",
        f"--url={url}",
        f"--title={shlex.quote(title_of(spec))}",
        f"--admin_user={shlex.quote(ADMIN_USER)}",
        f"--admin_email={shlex.quote(admin_email_of(spec))}",
        # The variable, expanded by the shell: the password is in no script, log or manifest.
        '--admin_password="$WORDPRESS_ADMIN_PASSWORD"',
        "--skip-email",
    ]
    if spec.multisite == "subdomain":
        install.append("--subdomains")
    lines = [
        "set -eu",
        # MySQL initializes its volume on the first start: wait for it here (bounded), then let
        # the Job's backoffLimit retry the whole script.
        "tries=0",
        "until wp db check >/dev/null; do",
        "  tries=$((tries + 1))",
        f'  if [ "$tries" -ge {DB_TRIES} ]; then echo "the database does not answer yet" >&2; exit 1; fi',
        f"  sleep {DB_PAUSE}",
        "done",
        f"if ! wp core is-installed --network --url={url}; then",
        "  " + " ".join(install),
        "fi",
    ]
    for slug in spec.plugins:
        plugin = shlex.quote(slug)
        missing = shlex.quote(f"plugin {slug} is not in wp-content/plugins")
        lines += [
            # The bundled plugins reach the shared wp-content when WordPress first starts.
            "tries=0",
            f"until wp plugin is-installed {plugin} --url={url}; do",
            "  tries=$((tries + 1))",
            f'  if [ "$tries" -ge {PLUGIN_TRIES} ]; then echo {missing} >&2; exit 1; fi',
            f"  sleep {PLUGIN_PAUSE}",
            "done",
            f"wp plugin is-active {plugin} --network --url={url} "
            f"|| wp plugin activate {plugin} --network --url={url}",
        ]
    return "\n".join(lines) + "\n"


