#ifndef INFERLINE_CLIBXML2_SHIM_H
#define INFERLINE_CLIBXML2_SHIM_H
#include <libxml/xmlversion.h>
/* Debian builds libxml2 with ICU; its ICU headers clash with the copy inside Foundation. No API we use needs it. */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/HTMLparser.h>
#include <libxml/xmlerror.h>

/// xmlFree is a global function pointer, which Swift 6 rejects as shared mutable state: call it through here.
static inline void inferline_xmlFree(void *pointer) { xmlFree(pointer); }

static void inferline_xml_silent_error(void *context, const char *message, ...) { (void)context; (void)message; }

/// Silences libxml2's default printing of parse errors to stderr; callers read xmlGetLastError instead.
static inline void inferline_xml_silence_errors(void) {
  xmlSetGenericErrorFunc(NULL, inferline_xml_silent_error);
}
#endif
