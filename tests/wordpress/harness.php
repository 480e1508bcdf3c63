<?php
/**
 * A stand-in for the few WordPress functions the Realnet plugin uses, enough to load the
 * plugin with the PHP command line and render its shortcode.
 *
 *     php harness.php CONFIG.json
 *
 * CONFIG.json: {"plugin": path, "log": path, "constants": {NAME: value, ...}}. The constants
 * are defined before the plugin is included (as wp-config.php would); the environment
 * (REALNET_URL, REALNET_TOKEN, REALNET_TOKEN_FILE) is the process's own.
 *
 * Then one JSON command a line on stdin, one JSON answer a line on stdout:
 *   {"op": "render", "content": "text with [realnet ...]"}
 *        -> {"html": ..., "requests": [{"url", "timeout", "redirection", "headers", "bearer",
 *            "outcome"}], "warnings": [...]}
 *   {"op": "advance", "seconds": N}   moves the transients' clock on -> {"ok": true}
 *   {"op": "quit"}                     -> exits 0
 *
 * wp_remote_get is real HTTP over PHP streams and answers in WordPress's array shape (or a
 * WP_Error); error_log() is PHP's own, written to the configured log file. PHP warnings and
 * notices raised while rendering are reported in "warnings", so a test can insist on none.
 * The token is never written to stdout: requests list header names and whether a bearer
 * token was sent, not the header's value.
 */

error_reporting( E_ALL );
ini_set( 'display_errors', 'stderr' );
ini_set( 'log_errors', '1' );

$harness_config = json_decode( (string) file_get_contents( $argv[1] ), true );
if ( ! is_array( $harness_config ) ) {
	fwrite( STDERR, "harness: usage: php harness.php CONFIG.json\n" );
	exit( 2 );
}
ini_set( 'error_log', $harness_config['log'] );

$GLOBALS['harness_warnings']   = array();
$GLOBALS['harness_requests']   = array();
$GLOBALS['harness_clock']      = 0;
$GLOBALS['harness_transients'] = array();
$GLOBALS['harness_shortcodes'] = array();
$GLOBALS['harness_hooks']      = array();

set_error_handler(
	function ( $errno, $message, $file, $line ) {
		if ( ! ( error_reporting() & $errno ) ) {
			return false; // Silenced with @.
		}
		$GLOBALS['harness_warnings'][] = "$message at " . basename( $file ) . ":$line";
		return true;
	}
);

define( 'ABSPATH', __DIR__ . '/' );
foreach ( isset( $harness_config['constants'] ) ? $harness_config['constants'] : array() as $name => $value ) {
	define( $name, $value );
}

// -- errors -------------------------------------------------------------------------------

class WP_Error {
	private $code;
	private $message;

	public function __construct( $code = '', $message = '' ) {
		$this->code    = $code;
		$this->message = $message;
	}

	public function get_error_code() {
		return $this->code;
	}

	public function get_error_message( $code = '' ) {
		return $this->message;
	}

	public function get_error_messages( $code = '' ) {
		return array( $this->message );
	}
}

function is_wp_error( $thing ) {
	return $thing instanceof WP_Error;
}

// -- hooks, shortcodes, translation -------------------------------------------------------

function add_action( $hook, $callback, $priority = 10, $accepted_args = 1 ) {
	$GLOBALS['harness_hooks'][ $hook ][] = $callback;
	return true;
}

function add_filter( $hook, $callback, $priority = 10, $accepted_args = 1 ) {
	return add_action( $hook, $callback, $priority, $accepted_args );
}

function do_action( $hook, ...$args ) {
	foreach ( isset( $GLOBALS['harness_hooks'][ $hook ] ) ? $GLOBALS['harness_hooks'][ $hook ] : array() as $callback ) {
		call_user_func_array( $callback, $args );
	}
}

function apply_filters( $hook, $value, ...$args ) {
	foreach ( isset( $GLOBALS['harness_hooks'][ $hook ] ) ? $GLOBALS['harness_hooks'][ $hook ] : array() as $callback ) {
		$value = call_user_func_array( $callback, array_merge( array( $value ), $args ) );
	}
	return $value;
}

function add_shortcode( $tag, $callback ) {
	$GLOBALS['harness_shortcodes'][ $tag ] = $callback;
}

function shortcode_atts( $pairs, $atts, $shortcode = '' ) {
	$atts = (array) $atts;
	$out  = array();
	foreach ( $pairs as $name => $default ) {
		$out[ $name ] = array_key_exists( $name, $atts ) ? $atts[ $name ] : $default;
	}
	if ( $shortcode ) {
		$out = apply_filters( "shortcode_atts_{$shortcode}", $out, $pairs, $atts, $shortcode );
	}
	return $out;
}

/** Attributes as WordPress's shortcode_parse_atts reads them: name="v", name='v', name=v. */
function harness_parse_atts( $text ) {
	$atts = array();
	if ( preg_match_all( '/([\w-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\'|([^\s\'"]+))/', $text, $found, PREG_SET_ORDER ) ) {
		foreach ( $found as $m ) {
			$value                       = isset( $m[4] ) && '' !== $m[4] ? $m[4] : ( isset( $m[3] ) && '' !== $m[3] ? $m[3] : $m[2] );
			$atts[ strtolower( $m[1] ) ] = $value;
		}
	}
	return $atts ? $atts : '';
}

/** Self-closing shortcodes only, which is all [realnet] is. */
function do_shortcode( $content ) {
	return preg_replace_callback(
		'/\[([\w-]+)((?:\s[^\]]*)?)\]/',
		function ( $m ) {
			if ( ! isset( $GLOBALS['harness_shortcodes'][ $m[1] ] ) ) {
				return $m[0];
			}
			return (string) call_user_func( $GLOBALS['harness_shortcodes'][ $m[1] ], harness_parse_atts( $m[2] ), '', $m[1] );
		},
		$content
	);
}

function __( $text, $domain = 'default' ) {
	return $text;
}

// -- escaping, as WordPress does it: quotes too, no double encoding of entities ------------

function esc_html( $text ) {
	return htmlspecialchars( (string) $text, ENT_QUOTES, 'UTF-8', false );
}

function esc_attr( $text ) {
	return htmlspecialchars( (string) $text, ENT_QUOTES, 'UTF-8', false );
}

function esc_html__( $text, $domain = 'default' ) {
	return esc_html( __( $text, $domain ) );
}

function esc_url( $url ) {
	$url = trim( (string) $url );
	if ( '' === $url || preg_match( '/[\x00-\x20\x7f]/', $url ) ) {
		return '';
	}
	if ( preg_match( '/^([a-z][a-z0-9+.-]*):/i', $url, $m ) && ! in_array( strtolower( $m[1] ), array( 'http', 'https', 'mailto' ), true ) ) {
		return '';
	}
	return str_replace( array( '&', "'" ), array( '&#038;', '&#039;' ), $url );
}

// -- transients, on a clock the test can move ----------------------------------------------

function harness_now() {
	return time() + $GLOBALS['harness_clock'];
}

function set_transient( $name, $value, $expiration = 0 ) {
	$GLOBALS['harness_transients'][ $name ] = array( serialize( $value ), $expiration > 0 ? harness_now() + $expiration : 0 );
	return true;
}

function get_transient( $name ) {
	if ( ! isset( $GLOBALS['harness_transients'][ $name ] ) ) {
		return false;
	}
	list( $value, $expires ) = $GLOBALS['harness_transients'][ $name ];
	if ( $expires && $expires <= harness_now() ) {
		unset( $GLOBALS['harness_transients'][ $name ] );
		return false;
	}
	return unserialize( $value );
}

function delete_transient( $name ) {
	unset( $GLOBALS['harness_transients'][ $name ] );
	return true;
}

// -- HTTP ------------------------------------------------------------------------------------

function wp_remote_get( $url, $args = array() ) {
	$args = array_merge(
		array(
			'timeout'             => 5,
			'redirection'         => 5,
			'headers'             => array(),
			'user-agent'          => 'WordPress/harness',
			'limit_response_size' => null,
		),
		$args
	);
	$lines = array( 'User-Agent: ' . $args['user-agent'], 'Connection: close' );
	foreach ( $args['headers'] as $name => $value ) {
		$lines[] = $name . ': ' . $value;
	}
	$record = array(
		'url'         => $url,
		'timeout'     => $args['timeout'],
		'redirection' => $args['redirection'],
		'headers'     => array_keys( $args['headers'] ),
		'bearer'      => isset( $args['headers']['Authorization'] ) && 0 === strpos( $args['headers']['Authorization'], 'Bearer ' ),
	);
	$context = stream_context_create(
		array(
			'http' => array(
				'method'           => 'GET',
				'header'           => implode( "\r\n", $lines ),
				'timeout'          => (float) $args['timeout'],
				'ignore_errors'    => true,
				'follow_location'  => $args['redirection'] > 0 ? 1 : 0,
				'max_redirects'    => max( 1, (int) $args['redirection'] ),
				'protocol_version' => 1.1,
			),
		)
	);
	ini_set( 'default_socket_timeout', (string) $args['timeout'] );
	error_clear_last();
	$http_response_header = array();
	$body = null === $args['limit_response_size']
		? @file_get_contents( $url, false, $context )
		: @file_get_contents( $url, false, $context, 0, (int) $args['limit_response_size'] );
	if ( false === $body || ! $http_response_header ) {
		$last                          = error_get_last();
		$record['outcome']             = 'error';
		$GLOBALS['harness_requests'][] = $record;
		return new WP_Error( 'http_request_failed', $last ? $last['message'] : 'no answer' );
	}
	// With redirects followed the array holds every response; the last status line starts the last one.
	$code    = 0;
	$message = '';
	$headers = array();
	foreach ( $http_response_header as $line ) {
		if ( preg_match( '#^HTTP/\S+\s+(\d{3})\s*(.*)$#', $line, $m ) ) {
			$code    = (int) $m[1];
			$message = $m[2];
			$headers = array();
		} elseif ( false !== strpos( $line, ':' ) ) {
			list( $name, $value )             = explode( ':', $line, 2 );
			$headers[ strtolower( $name ) ] = trim( $value );
		}
	}
	$record['outcome']             = $code;
	$GLOBALS['harness_requests'][] = $record;
	return array(
		'headers'  => $headers,
		'body'     => $body,
		'response' => array(
			'code'    => $code,
			'message' => $message,
		),
		'cookies'  => array(),
		'filename' => null,
	);
}

function wp_remote_retrieve_response_code( $response ) {
	if ( is_wp_error( $response ) || ! isset( $response['response']['code'] ) ) {
		return '';
	}
	return $response['response']['code'];
}

function wp_remote_retrieve_body( $response ) {
	if ( is_wp_error( $response ) || ! isset( $response['body'] ) ) {
		return '';
	}
	return $response['body'];
}

// -- the plugin, and the loop ------------------------------------------------------------------

require $harness_config['plugin'];
do_action( 'init' );

function harness_answer( $data ) {
	fwrite( STDOUT, json_encode( $data, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE ) . "\n" );
	fflush( STDOUT );
}

while ( false !== ( $line = fgets( STDIN ) ) ) {
	$command = json_decode( $line, true );
	$op      = is_array( $command ) && isset( $command['op'] ) ? $command['op'] : '';
	if ( 'render' === $op ) {
		$GLOBALS['harness_requests'] = array();
		$GLOBALS['harness_warnings'] = array();
		$html                        = do_shortcode( (string) $command['content'] );
		harness_answer(
			array(
				'html'     => $html,
				'requests' => $GLOBALS['harness_requests'],
				'warnings' => $GLOBALS['harness_warnings'],
			)
		);
	} elseif ( 'advance' === $op ) {
		$GLOBALS['harness_clock'] += (int) $command['seconds'];
		harness_answer( array( 'ok' => true ) );
	} elseif ( 'quit' === $op ) {
		exit( 0 );
	} else {
		harness_answer( array( 'error' => 'unknown command: ' . trim( $line ) ) );
	}
}
