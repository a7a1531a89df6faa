import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import zhCN from './zh-CN.ts';
import en from './en.ts';

export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

const STORAGE_KEY = 'caregrid.lang';

function storedLanguage(): Language {
  try {
    const saved = window.localStorage.getItem(STORAGE_KEY);
    return LANGUAGES.find((lang) => lang === saved) ?? 'zh-CN';
  } catch {
    return 'zh-CN'; // storage blocked (private mode, policy): fall back to the default
  }
}

export const namespaces = Object.keys(zhCN) as Array<keyof typeof zhCN>;

void i18n.use(initReactI18next).init({
  resources: { 'zh-CN': zhCN, en },
  lng: storedLanguage(),
  fallbackLng: 'zh-CN',
  supportedLngs: [...LANGUAGES],
  ns: namespaces,
  defaultNS: 'common',
  interpolation: { escapeValue: false }, // React escapes already
  react: { useSuspense: false },
});

function reflectLanguage(lang: string): void {
  document.documentElement.lang = lang;
}

reflectLanguage(i18n.language);
i18n.on('languageChanged', (lang) => {
  reflectLanguage(lang);
  try {
    window.localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // the choice simply does not survive a reload
  }
});

export function currentLanguage(): Language {
  return i18n.language === 'en' ? 'en' : 'zh-CN';
}

export default i18n;
