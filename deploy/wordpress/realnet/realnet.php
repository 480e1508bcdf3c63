<?php
/**
 * Plugin Name:       Realnet
 * Description:       Shows items of a Realnet tree in pages through Realnet's HTTP API: [realnet path="/some/folder"] lists a folder, [realnet path="/some/doc" show="item"] shows one item.
 * Version:           1.0.0
 * Requires at least: 5.0
 * Requires PHP:      7.4
 * License:           MIT
 * Text Domain:       realnet
 *
 * Where Realnet is and the token it is called with come from wp-config.php constants
 * (REALNET_URL, REALNET_TOKEN, REALNET_TOKEN_FILE) or else from the environment of the same
 * names (in Kubernetes: env.valueFrom.secretKeyRef, or a Secret mounted as a file that
 * REALNET_TOKEN_FILE names). The token is sent as "Authorization: Bearer ..." and nowhere
 * else: never into the page, never into a log line.
 *
 * Everything fails soft: when Realnet cannot be reached, is slow, refuses the token,
 * answers an error or something that is not the JSON expected, the shortcode renders a
 * small notice, the page renders around it, and one line goes to error_log.
 */

defined( 'ABSPATH' ) || exit;

// Tunables; wp-config.php may define any of them first.
/** Seconds a request to Realnet may take before the page gives up on it. */
defined( 'REALNET_TIMEOUT' ) || define( 'REALNET_TIMEOUT', 3 );
/** Seconds a successful answer is kept in a transient (also the filter 'realnet_cache_seconds'). */
defined( 'REALNET_CACHE_SECONDS' ) || define( 'REALNET_CACHE_SECONDS', 60 );
/** Seconds a failure is remembered, so that a Realnet that is away does not cost every view the timeout. */
defined( 'REALNET_FAILURE_SECONDS' ) || define( 'REALNET_FAILURE_SECONDS', 15 );

/**
 * Fixed limits of the shortcode.
 */
final class Realnet_Limits {
	/** Children a list shows unless limit="N" says otherwise. */
	const DEFAULT_LIMIT = 50;
	/** The largest limit="N". */
	const MAX_LIMIT = 500;
	/** Largest answer read from Realnet, in bytes. */
	const MAX_RESPONSE_BYTES = 4194304;
	/** The sort orders the API knows. */
	const ORDERS = array( 'name', '-name', 'type', '-type', 'updated', '-updated' );
}

/**
 * A failure to get an answer from Realnet. Its message goes to the log (never to the
 * page) and never holds the token.
 */
class Realnet_Unavailable extends Exception {
	/** The code of a failure already logged a moment ago (remembered, not asked again). */
	const ALREADY_LOGGED = 1;
}

add_action( 'init', 'realnet_register_shortcode' );

/**
 * Registers [realnet].
 */
function realnet_register_shortcode() {
	add_shortcode( 'realnet', 'realnet_shortcode' );
}

/**
 * A setting: the wp-config.php constant when defined, else the environment variable.
 *
 * @param string $name REALNET_URL, REALNET_TOKEN or REALNET_TOKEN_FILE.
 * @return string The value, trimmed; '' when neither is set.
 */
function realnet_setting( $name ) {
	if ( defined( $name ) ) {
		return trim( (string) constant( $name ) );
	}
	$value = getenv( $name );
	return false === $value ? '' : trim( (string) $value );
}

/**
 * Where Realnet is and the token to send.
 *
 * REALNET_URL and REALNET_TOKEN as constants win over the environment; a token (constant or
 * variable) wins over REALNET_TOKEN_FILE.
 *
 * @return array{url: string, token: string}
 * @throws Realnet_Unavailable When the URL is missing or not http(s), or the token file cannot be read.
 */
function realnet_config() {
	$url = rtrim( realnet_setting( 'REALNET_URL' ), '/' );
	if ( '' === $url ) {
		throw new Realnet_Unavailable( 'REALNET_URL is not set (wp-config.php constant or environment variable)' );
	}
	$scheme = strtolower( (string) parse_url( $url, PHP_URL_SCHEME ) );
	$host   = (string) parse_url( $url, PHP_URL_HOST );
	if ( ! in_array( $scheme, array( 'http', 'https' ), true ) || '' === $host
		|| null !== parse_url( $url, PHP_URL_USER ) || null !== parse_url( $url, PHP_URL_QUERY ) ) {
		throw new Realnet_Unavailable( 'REALNET_URL: expected http(s)://HOST[:PORT][/PREFIX], without user, password or query' );
	}

	$token = realnet_setting( 'REALNET_TOKEN' );
	if ( '' === $token ) {
		$file = realnet_setting( 'REALNET_TOKEN_FILE' );
		if ( '' !== $file ) {
			$read = is_readable( $file ) ? file_get_contents( $file ) : false; // phpcs:ignore WordPress.WP.AlternativeFunctions
			if ( false === $read ) {
				throw new Realnet_Unavailable( 'REALNET_TOKEN_FILE ' . $file . ': cannot be read' );
			}
			$token = trim( $read );
			if ( '' === $token ) {
				throw new Realnet_Unavailable( 'REALNET_TOKEN_FILE ' . $file . ': the file is empty' );
			}
		}
	}
	if ( preg_match( '/[\x00-\x20\x7f]/', $token ) ) {
		// A header cannot carry it; say so without showing it.
		throw new Realnet_Unavailable( 'REALNET_TOKEN: holds spaces or control characters' );
	}
	return array(
		'url'   => $url,
		'token' => $token,
	);
}

/**
 * The API path of a tree path: each segment percent-encoded on its own.
 *
 * @param string $path A tree path such as "/projects/plan" (the leading "/" is optional).
 * @return string Such as "/api/v1/items/projects/plan".
 * @throws Realnet_Unavailable For "." and ".." segments or control characters.
 */
function realnet_item_endpoint( $path ) {
	if ( preg_match( '/[\x00-\x1f\x7f]/', $path ) ) {
		throw new Realnet_Unavailable( 'path: holds control characters' );
	}
	$segments = array();
	foreach ( explode( '/', $path ) as $segment ) {
		if ( '' === $segment ) {
			continue;
		}
		if ( '.' === $segment || '..' === $segment ) {
			throw new Realnet_Unavailable( 'path ' . $path . ': "." and ".." are not allowed' );
		}
		$segments[] = rawurlencode( $segment );
	}
	return '/api/v1/items/' . implode( '/', $segments );
}

/**
 * One GET to the API, decoded.
 *
 * @param array  $config From realnet_config().
 * @param string $endpoint Path and query below REALNET_URL.
 * @return array The decoded JSON object.
 * @throws Realnet_Unavailable On a transport failure, a status other than 200, or a body that is not a JSON object.
 */
function realnet_api_get( array $config, $endpoint ) {
	$headers = array( 'Accept' => 'application/json' );
	if ( '' !== $config['token'] ) {
		$headers['Authorization'] = 'Bearer ' . $config['token'];
	}
	$response = wp_remote_get(
		$config['url'] . $endpoint,
		array(
			'timeout'             => (float) REALNET_TIMEOUT,
			'redirection'         => 0, // A redirect could carry the token elsewhere: treated as a failure.
			'headers'             => $headers,
			'limit_response_size' => Realnet_Limits::MAX_RESPONSE_BYTES,
		)
	);
	if ( is_wp_error( $response ) ) {
		throw new Realnet_Unavailable( 'request failed: ' . $response->get_error_message() );
	}
	$status = (int) wp_remote_retrieve_response_code( $response );
	$body   = (string) wp_remote_retrieve_body( $response );
	if ( 200 !== $status ) {
		$detail = '';
		$error  = json_decode( $body, true );
		if ( is_array( $error ) && isset( $error['error'] ) && is_array( $error['error'] ) ) {
			$code    = isset( $error['error']['code'] ) && is_scalar( $error['error']['code'] ) ? (string) $error['error']['code'] : '';
			$message = isset( $error['error']['message'] ) && is_scalar( $error['error']['message'] ) ? (string) $error['error']['message'] : '';
			$detail  = trim( $code . ': ' . $message, ': ' );
		}
		throw new Realnet_Unavailable( 'HTTP ' . $status . ( '' === $detail ? '' : ' (' . $detail . ')' ) );
	}
	$data = json_decode( $body, true );
	if ( ! is_array( $data ) ) {
		throw new Realnet_Unavailable( 'the answer is not a JSON object (' . strlen( $body ) . ' bytes)' );
	}
	return $data;
}

/**
 * Checks that a decoded value looks like one item of the API.
 *
 * @param mixed $item The value.
 * @return bool
 */
function realnet_is_item( $item ) {
	return is_array( $item )
		&& isset( $item['name'], $item['type'] )
		&& is_string( $item['name'] ) && is_string( $item['type'] )
		&& ( ! isset( $item['attributes'] ) || is_array( $item['attributes'] ) );
}

/**
 * What the shortcode shows, from the cache or from Realnet.
 *
 * @param array  $config From realnet_config().
 * @param string $endpoint Path and query below REALNET_URL.
 * @param string $show 'children' or 'item'.
 * @return array The items (children) or the item.
 * @throws Realnet_Unavailable When Realnet fails, or failed a moment ago.
 */
function realnet_fetch( array $config, $endpoint, $show ) {
	// The token is not part of the key: it belongs to the site, and is nothing to store.
	$key    = 'realnet_' . md5( $config['url'] . '|' . $endpoint . '|' . $show );
	$fail   = 'realnet_failed_' . md5( $config['url'] . '|' . $endpoint . '|' . $show );
	$cached = get_transient( $key );
	if ( is_array( $cached ) ) {
		return $cached;
	}
	if ( false !== get_transient( $fail ) ) {
		// Already logged when it failed; the notice again, without waiting for the timeout again.
		throw new Realnet_Unavailable( '', Realnet_Unavailable::ALREADY_LOGGED );
	}
	try {
		$data = realnet_api_get( $config, $endpoint );
		if ( 'item' === $show ) {
			if ( ! realnet_is_item( $data ) ) {
				throw new Realnet_Unavailable( 'the answer is not an item' );
			}
			$result = $data;
		} else {
			if ( ! isset( $data['items'] ) || ! is_array( $data['items'] ) ) {
				throw new Realnet_Unavailable( 'the answer is not a page of items' );
			}
			$result = array();
			foreach ( $data['items'] as $item ) {
				if ( ! realnet_is_item( $item ) ) {
					throw new Realnet_Unavailable( 'the answer holds something that is not an item' );
				}
				$result[] = $item;
			}
		}
	} catch ( Realnet_Unavailable $e ) {
		if ( (int) REALNET_FAILURE_SECONDS > 0 ) {
			set_transient( $fail, 1, (int) REALNET_FAILURE_SECONDS );
		}
		throw $e;
	}
	$seconds = (int) apply_filters( 'realnet_cache_seconds', REALNET_CACHE_SECONDS );
	if ( $seconds > 0 ) {
		set_transient( $key, $result, $seconds );
	}
	return $result;
}

/**
 * One line to the PHP error log, naming what failed; the token, should it ever be part of a
 * message, is cut out.
 *
 * @param string $what What was asked (URL and endpoint, never the token).
 * @param string $why The failure.
 * @param string $token The token, to scrub.
 */
function realnet_log( $what, $why, $token ) {
	$line = 'realnet: ' . $what . ': ' . $why;
	if ( '' !== $token ) {
		$line = str_replace( $token, '[token]', $line );
	}
	error_log( preg_replace( '/[\x00-\x1f\x7f]+/', ' ', $line ) ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions
}

/**
 * The small notice shown instead of the content.
 *
 * @return string HTML.
 */
function realnet_notice() {
	$text = apply_filters( 'realnet_unavailable_text', __( 'This content is not available right now.', 'realnet' ) );
	return '<p class="realnet-unavailable">' . esc_html( $text ) . '</p>';
}

/**
 * A string attribute of an item, or '' when absent or not text.
 *
 * @param array  $item The item.
 * @param string $name The attribute.
 * @return string
 */
function realnet_attribute( array $item, $name ) {
	if ( ! isset( $item['attributes'][ $name ] ) ) {
		return '';
	}
	$value = $item['attributes'][ $name ];
	if ( is_string( $value ) ) {
		return $value;
	}
	if ( is_int( $value ) || is_float( $value ) ) {
		return (string) $value;
	}
	return '';
}

/**
 * A CSS class fragment from a type name.
 *
 * @param string $type The type.
 * @return string
 */
function realnet_type_class( $type ) {
	return 'realnet-type-' . strtolower( preg_replace( '/[^A-Za-z0-9_-]+/', '-', $type ) );
}

/**
 * The children as a list.
 *
 * @param array  $items The items.
 * @param string $link A URL prefix that each name (percent-encoded) is appended to, or ''.
 * @return string HTML.
 */
function realnet_render_list( array $items, $link ) {
	if ( ! $items ) {
		return '<p class="realnet-empty">' . esc_html__( 'Nothing here yet.', 'realnet' ) . '</p>';
	}
	$html = '<ul class="realnet-list">';
	foreach ( $items as $item ) {
		$name  = $item['name'];
		$title = realnet_attribute( $item, 'title' );
		$url   = realnet_attribute( $item, 'url' );
		if ( ! preg_match( '#^https?://#i', $url ) ) {
			$url = '' !== $link ? $link . rawurlencode( $name ) : '';
		}
		$label = '<span class="realnet-name">' . esc_html( $name ) . '</span>';
		if ( '' !== $url ) {
			$label = '<a href="' . esc_url( $url ) . '">' . $label . '</a>';
		}
		$html .= '<li class="realnet-item ' . esc_attr( realnet_type_class( $item['type'] ) ) . '">' . $label;
		if ( '' !== $title ) {
			$html .= ' <span class="realnet-title">' . esc_html( $title ) . '</span>';
		}
		$html .= ' <span class="realnet-type">' . esc_html( $item['type'] ) . '</span></li>';
	}
	return $html . '</ul>';
}

/**
 * One item: its title (else its name), description and body, all as text.
 *
 * @param array $item The item.
 * @return string HTML.
 */
function realnet_render_item( array $item ) {
	$title = realnet_attribute( $item, 'title' );
	$html  = '<div class="realnet-item ' . esc_attr( realnet_type_class( $item['type'] ) ) . '">'
		. '<h3 class="realnet-title">' . esc_html( '' !== $title ? $title : $item['name'] ) . '</h3>';
	foreach ( array( 'description', 'body' ) as $name ) {
		$text = realnet_attribute( $item, $name );
		if ( '' !== $text ) {
			$html .= '<div class="realnet-' . $name . '">' . nl2br( esc_html( $text ) ) . '</div>';
		}
	}
	return $html . '</div>';
}

/**
 * [realnet path="/folder" limit="50" order="name" link="https://..."] lists a folder;
 * [realnet path="/doc" show="item"] shows one item.
 *
 * @param array|string $atts The shortcode's attributes.
 * @return string HTML; the notice when Realnet cannot answer.
 */
function realnet_shortcode( $atts ) {
	$atts = shortcode_atts(
		array(
			'path'  => '/',
			'show'  => 'children',
			'limit' => Realnet_Limits::DEFAULT_LIMIT,
			'order' => 'name',
			'link'  => '',
		),
		$atts,
		'realnet'
	);
	$path  = trim( (string) $atts['path'] );
	$show  = 'item' === strtolower( trim( (string) $atts['show'] ) ) ? 'item' : 'children';
	$limit = is_numeric( $atts['limit'] ) ? (int) $atts['limit'] : Realnet_Limits::DEFAULT_LIMIT;
	$limit = max( 1, min( Realnet_Limits::MAX_LIMIT, $limit ) );
	$order = in_array( $atts['order'], Realnet_Limits::ORDERS, true ) ? $atts['order'] : 'name';
	$link  = trim( (string) $atts['link'] );

	$token = '';
	$what  = $path;
	try {
		$config   = realnet_config();
		$token    = $config['token'];
		$endpoint = realnet_item_endpoint( $path );
		if ( 'children' === $show ) {
			$endpoint .= '?children&limit=' . $limit . '&order=' . rawurlencode( $order );
		}
		$what = 'GET ' . $config['url'] . $endpoint;
		$data = realnet_fetch( $config, $endpoint, $show );
	} catch ( Realnet_Unavailable $e ) {
		if ( Realnet_Unavailable::ALREADY_LOGGED !== $e->getCode() ) {
			realnet_log( $what, $e->getMessage(), $token );
		}
		return realnet_notice();
	}
	return 'item' === $show ? realnet_render_item( $data ) : realnet_render_list( $data, $link );
}
