/* The delivery_sign reference mini-program: pages/sign for the recipient (opened from the
 * courier's QR), pages/courier for the courier. The server origin is in config.js. */
App({});
