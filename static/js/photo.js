/* Photos made small on the phone before upload (issue 12), for the recipient page and the
 * courier app: the camera's JPEG is decoded with its EXIF orientation applied, scaled so
 * the long edge is at most 1,920 px and encoded as JPEG at 0.85, so a 12-MP photo goes up
 * as a few hundred KB instead of 3-8 MB. What the original's EXIF says that matters as
 * evidence (DateTimeOriginal, GPS, make/model, orientation) is read first, because the
 * re-encoded JPEG carries no EXIF; it is sent beside the upload as `client_exif`.
 *
 * The EXIF reader is hand-written: it reads five tags from the first 128 KB of a JPEG in
 * ~90 lines, where the smallest build of a library (exifr "lite") would add ~45 KB to a
 * page whose whole budget is 150 KB, and the pages have no build step to trim one. */
(function (global) {
  "use strict";

  var LONG_EDGE = 1920;
  var QUALITY = 0.85;
  // The 3-second target on a 750 kbps uplink leaves room for ~280 KB on the wire; a busy
  // scene that comes out larger at 0.85 is encoded once more at 0.75, and the hard
  // ceiling (500 KB) once more at 0.6.
  var WIRE_BYTES = 280 * 1024;
  var TARGET_BYTES = 500 * 1024;
  var EXIF_SCAN_BYTES = 128 * 1024;

  // --- EXIF -------------------------------------------------------------------------

  function ascii(view, offset, length) {
    var out = "";
    for (var i = 0; i < length && offset + i < view.byteLength; i++) {
      var c = view.getUint8(offset + i);
      if (c === 0) break;
      out += String.fromCharCode(c);
    }
    return out.trim();
  }

  /** The tags of one IFD as {tag: value}; values of ASCII, SHORT, LONG and RATIONAL types. */
  function readIfd(view, tiff, offset, little) {
    var tags = {};
    if (offset + 2 > view.byteLength) return tags;
    var count = view.getUint16(offset, little);
    for (var i = 0; i < count && i < 200; i++) {
      var entry = offset + 2 + i * 12;
      if (entry + 12 > view.byteLength) break;
      var tag = view.getUint16(entry, little), type = view.getUint16(entry + 2, little);
      var n = view.getUint32(entry + 4, little);
      var sizes = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8 };
      var size = (sizes[type] || 1) * n;
      var at = size <= 4 ? entry + 8 : tiff + view.getUint32(entry + 8, little);
      if (at + size > view.byteLength) continue;
      if (type === 2) tags[tag] = ascii(view, at, n);
      else if (type === 3) tags[tag] = view.getUint16(at, little);
      else if (type === 4) tags[tag] = view.getUint32(at, little);
      else if (type === 5) {
        var values = [];
        for (var k = 0; k < n && k < 4; k++) {
          var den = view.getUint32(at + k * 8 + 4, little);
          values.push(den ? view.getUint32(at + k * 8, little) / den : 0);
        }
        tags[tag] = values;
      }
    }
    return tags;
  }

  function degrees(dms, ref) {
    if (!dms || dms.length < 3) return null;
    var value = dms[0] + dms[1] / 60 + dms[2] / 3600;
    return ref === "S" || ref === "W" ? -value : value;
  }

  /** {taken_at, offset, gps, make, model, orientation} from a JPEG's APP1 segment, or {}. */
  function parseExif(buffer) {
    var view = new DataView(buffer);
    if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return {};
    var offset = 2;
    while (offset + 4 <= view.byteLength) {
      var marker = view.getUint16(offset), length = view.getUint16(offset + 2);
      if (marker === 0xffe1 && ascii(view, offset + 4, 4) === "Exif") {
        var tiff = offset + 10;
        var little = view.getUint16(tiff) === 0x4949;
        var ifd0 = readIfd(view, tiff, tiff + view.getUint32(tiff + 4, little), little);
        var exif = ifd0[0x8769] ? readIfd(view, tiff, tiff + ifd0[0x8769], little) : {};
        var gps = ifd0[0x8825] ? readIfd(view, tiff, tiff + ifd0[0x8825], little) : {};
        var lat = degrees(gps[2], gps[1]), lng = degrees(gps[4], gps[3]);
        var out = {};
        if (exif[0x9003]) out.taken_at = exif[0x9003];
        if (exif[0x9011]) out.offset = exif[0x9011];
        if (lat !== null && lng !== null && Math.abs(lat) <= 90 && Math.abs(lng) <= 180) {
          out.gps = { lat: Math.round(lat * 1e7) / 1e7, lng: Math.round(lng * 1e7) / 1e7 };
        }
        if (ifd0[0x010f]) out.make = ifd0[0x010f].slice(0, 64);
        if (ifd0[0x0110]) out.model = ifd0[0x0110].slice(0, 64);
        if (ifd0[0x0112] >= 1 && ifd0[0x0112] <= 8) out.orientation = ifd0[0x0112];
        return out;
      }
      if (marker === 0xffda || (marker & 0xff00) !== 0xff00) break;   // image data: no EXIF ahead
      offset += 2 + length;
    }
    return {};
  }

  function readExif(file) {
    if (!file.slice || !file.arrayBuffer && !global.FileReader) return Promise.resolve({});
    var head = file.slice(0, EXIF_SCAN_BYTES);
    var read = head.arrayBuffer ? head.arrayBuffer() : new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = reject;
      reader.readAsArrayBuffer(head);
    });
    return read.then(function (buffer) {
      try { return parseExif(buffer); } catch (e) { return {}; }
    }, function () { return {}; });
  }

  // --- decode, scale, encode -----------------------------------------------------------

  function decode(file) {
    // createImageBitmap applies the EXIF orientation ("from-image"); an <img> does too in
    // every browser that follows CSS image-orientation: from-image (the default since 2020).
    if (global.createImageBitmap) {
      return createImageBitmap(file, { imageOrientation: "from-image" }).catch(function () { return decodeImg(file); });
    }
    return decodeImg(file);
  }

  function decodeImg(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () { URL.revokeObjectURL(url); resolve(img); };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("decode")); };
      img.src = url;
    });
  }

  function encode(canvas, quality) {
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", quality); });
  }

  /** Resolve {blob, clientExif, width, height}: the photo to upload and what to declare.
   * `mode` is the policy's photo_upload: "original" sends the camera's bytes untouched. */
  function prepare(file, mode) {
    return readExif(file).then(function (exif) {
      var original = { bytes: file.size, mime: (file.type || "").slice(0, 40) || null };
      if (mode === "original") {
        return { blob: file, clientExif: Object.assign({}, exif, { original: original, resized: false }) };
      }
      return decode(file).then(function (image) {
        var w = image.width || image.naturalWidth, h = image.height || image.naturalHeight;
        original.width = w; original.height = h;
        var k = Math.min(1, LONG_EDGE / Math.max(w, h, 1));
        var canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(w * k));
        canvas.height = Math.max(1, Math.round(h * k));
        var ctx = canvas.getContext("2d");
        ctx.imageSmoothingEnabled = true;
        ctx.imageSmoothingQuality = "high";
        ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
        if (image.close) image.close();
        return encode(canvas, QUALITY).then(function (blob) {
          return blob && blob.size > WIRE_BYTES ? encode(canvas, 0.75) : blob;
        }).then(function (blob) {
          return blob && blob.size > TARGET_BYTES ? encode(canvas, 0.6) : blob;
        }).then(function (blob) {
          if (!blob) throw new Error("encode");
          var declared = Object.assign({}, exif, { original: original, resized: true });
          return { blob: blob, clientExif: declared, width: canvas.width, height: canvas.height };
        });
      }, function () {
        // Not decodable here (HEIC on an old browser): send it as it is; the server judges.
        return { blob: file, clientExif: Object.assign({}, exif, { original: original, resized: false }) };
      });
    });
  }

  /** What the server's answer asks of the person: the message key of the first finding. */
  // A dark photo also measures as blurry; "too dark" is the one to fix first.
  var RETAKE = [["dark_photo", "photo.dark"], ["blurry_photo", "photo.blurry"], ["duplicate_photo", "photo.duplicate"]];
  function retakeReason(answer) {
    var found = (answer && answer.checks && answer.checks.anomalies) || [];
    for (var i = 0; i < RETAKE.length; i++) if (found.indexOf(RETAKE[i][0]) >= 0) return RETAKE[i][1];
    return null;
  }

  global.DS = global.DS || {};
  global.DS.photo = { prepare: prepare, parseExif: parseExif, retakeReason: retakeReason, LONG_EDGE: LONG_EDGE };
})(window);
