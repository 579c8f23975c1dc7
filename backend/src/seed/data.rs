//! Fixed word lists and specs the demo data is built from. Everything here is invented: names,
//! companies, domains and documents belong to no one (CPF/CNPJ numbers are random with valid
//! check digits; IP addresses come from the RFC 5737 documentation ranges).

/// One white-label brand of the demo.
pub(super) struct TenantSpec {
    pub name: &'static str,
    pub domain: &'static str,
    pub tier: &'static str,
    pub currency: &'static str,
    pub logo: &'static str,
    pub primary: &'static str,
    pub accent: &'static str,
    /// Invoice number prefix.
    pub prefix: &'static str,
    pub streaming: bool,
    pub customers: usize,
    /// How long ago the brand signed up.
    pub age_days: i64,
    /// Area code of the brand's home city, used for customer phones.
    pub ddd: &'static str,
    pub admin: &'static str,
    /// Names of the hosting servers its accounts live on (see [`SERVERS`]).
    pub servers: &'static [&'static str],
    /// Suspended after seeding, with this reason.
    pub suspend: Option<&'static str>,
}

pub(super) const TENANTS: [TenantSpec; 8] = [
    TenantSpec {
        name: "Conexão Hospedagem",
        domain: "conexaohospedagem.com.br",
        tier: "pro",
        currency: "BRL",
        logo: "CONEXÃO",
        primary: "#0b5fff",
        accent: "#ffb800",
        prefix: "CNX",
        streaming: false,
        customers: 22,
        age_days: 88,
        ddd: "11",
        admin: "Fernanda Ribeiro",
        servers: &["whm-gru-01", "whm-gru-02", "whm-gru-03"],
        suspend: None,
    },
    TenantSpec {
        name: "NuvemBR Hosting",
        domain: "nuvembr.com.br",
        tier: "enterprise",
        currency: "BRL",
        logo: "NuvemBR",
        primary: "#6d28d9",
        accent: "#22d3ee",
        prefix: "NBR",
        streaming: false,
        customers: 25,
        age_days: 86,
        ddd: "41",
        admin: "Gustavo Martins",
        servers: &["nuvembr-ded-01", "whm-gru-02"],
        suspend: None,
    },
    TenantSpec {
        name: "StreamMax Revenda",
        domain: "streammax.tv.br",
        tier: "enterprise",
        currency: "BRL",
        logo: "STREAMMAX",
        primary: "#e11d48",
        accent: "#facc15",
        prefix: "SMX",
        streaming: true,
        customers: 24,
        age_days: 80,
        ddd: "85",
        admin: "Thiago Barbosa",
        servers: &[],
        suspend: None,
    },
    TenantSpec {
        name: "Pixel Web Studio",
        domain: "pixelwebstudio.com.br",
        tier: "basic",
        currency: "BRL",
        logo: "pixel.",
        primary: "#111827",
        accent: "#10b981",
        prefix: "PXL",
        streaming: false,
        customers: 12,
        age_days: 71,
        ddd: "31",
        admin: "Camila Duarte",
        servers: &["whm-gru-01", "whm-for-01"],
        suspend: None,
    },
    TenantSpec {
        name: "TurboHost",
        domain: "turbohost.net.br",
        tier: "pro",
        currency: "BRL",
        logo: "TURBO»HOST",
        primary: "#f97316",
        accent: "#0ea5e9",
        prefix: "TBH",
        streaming: false,
        customers: 18,
        age_days: 64,
        ddd: "51",
        admin: "Leonardo Pires",
        servers: &["whm-gru-03", "whm-gru-02", "whm-fra-01"],
        suspend: None,
    },
    TenantSpec {
        name: "Alpha IPTV Distribuidora",
        domain: "alphaiptv.com.br",
        tier: "pro",
        currency: "BRL",
        logo: "ALPHA",
        primary: "#0f766e",
        accent: "#f59e0b",
        prefix: "APX",
        streaming: true,
        customers: 16,
        age_days: 57,
        ddd: "81",
        admin: "Rafael Moura",
        servers: &[],
        suspend: None,
    },
    TenantSpec {
        name: "Sertão Digital Hospedagem",
        domain: "sertaodigital.com.br",
        tier: "free",
        currency: "BRL",
        logo: "Sertão Digital",
        primary: "#a16207",
        accent: "#65a30d",
        prefix: "SRT",
        streaming: false,
        customers: 10,
        age_days: 45,
        ddd: "87",
        admin: "Josué Cavalcanti",
        servers: &["whm-for-01"],
        suspend: Some("Chargeback em análise"),
    },
    TenantSpec {
        name: "Lumen Cloud Services",
        domain: "lumencloud.io",
        tier: "basic",
        currency: "USD",
        logo: "LUMEN",
        primary: "#0f172a",
        accent: "#38bdf8",
        prefix: "LMN",
        streaming: false,
        customers: 12,
        age_days: 33,
        ddd: "11",
        admin: "Patrícia Yamamoto",
        servers: &["cpanel-iad-01", "whm-fra-01"],
        suspend: None,
    },
];

/// Platform hosts: (name, kind, region, status, max_accounts, accounts, disk total, disk used,
/// dedicated to tenant slug, last IPv4 octet).
pub(super) type ServerSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<i64>,
    i64,
    i64,
    i64,
    Option<&'static str>,
    u8,
);

pub(super) const SERVERS: [ServerSpec; 9] = [
    ("whm-gru-01", "whm", "sa-east-1", "online", Some(300), 212, 4000, 2710, None, 11),
    ("whm-gru-02", "whm", "sa-east-1", "online", Some(300), 187, 4000, 2190, None, 12),
    ("whm-gru-03", "whm", "sa-east-1", "degraded", Some(300), 281, 4000, 3660, None, 13),
    ("whm-for-01", "whm", "fortaleza", "online", Some(200), 96, 2000, 870, None, 21),
    ("nuvembr-ded-01", "whm", "sa-east-1", "online", Some(150), 64, 2000, 640, Some("nuvembr-hosting"), 14),
    ("cpanel-iad-01", "cpanel", "us-east-1", "maintenance", Some(120), 45, 1000, 410, None, 31),
    ("whm-fra-01", "whm", "eu-central-1", "offline", Some(200), 77, 2000, 1150, None, 41),
    ("xui-gru-01", "xui", "sa-east-1", "online", None, 0, 500, 320, Some("streammax-revenda"), 15),
    ("xtream-for-01", "xtream", "fortaleza", "degraded", None, 0, 500, 410, Some("alpha-iptv-distribuidora"), 22),
];

pub(super) const FIRST_NAMES: [&str; 40] = [
    "Ana", "Bruno", "Carla", "Diego", "Eduarda", "Felipe", "Gabriela", "Henrique", "Isabela", "João",
    "Karina", "Lucas", "Mariana", "Nicolas", "Otávio", "Paula", "Rafaela", "Rodrigo", "Sabrina", "Tiago",
    "Vanessa", "Vinícius", "Yasmin", "Caio", "Letícia", "Matheus", "Beatriz", "Gustavo", "Larissa", "André",
    "Renata", "Marcelo", "Priscila", "Leandro", "Aline", "Fábio", "Juliana", "Sérgio", "Débora", "Wellington",
];

pub(super) const LAST_NAMES: [&str; 40] = [
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
    "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa",
    "Rocha", "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques", "Machado", "Mendes", "Freitas",
    "Cardoso", "Ramos", "Gonçalves", "Santana", "Teixeira", "Araújo", "Cavalcanti", "Monteiro", "Moura", "Correia",
];

/// Small businesses that buy hosting (name, preferred TLD).
pub(super) const COMPANIES: [&str; 40] = [
    "Padaria Pão Dourado",
    "Oficina Mecânica Boa Viagem",
    "Clínica Odontológica Sorriso Leve",
    "Advocacia Mendes e Rocha",
    "Pet Shop Amigo Fiel",
    "Escola de Idiomas Speak Up",
    "Imobiliária Horizonte",
    "Restaurante Sabor Caseiro",
    "Academia Corpo em Forma",
    "Moda Bella Boutique",
    "Contabilidade Exata",
    "Farmácia Vida Plena",
    "Construtora Alicerce",
    "Auto Peças Rota 116",
    "Studio Glamour Beleza",
    "Açaí da Praça",
    "Ótica Visão Clara",
    "Floricultura Jardim Secreto",
    "Gráfica Rápida Express",
    "Hotel Pousada Maré Alta",
    "Distribuidora Norte Sul",
    "Laboratório Análise Certa",
    "Marcenaria Arte em Madeira",
    "Colégio Novo Saber",
    "Cervejaria Artesanal Serra",
    "Transportadora Rápido Sul",
    "Agência Criativa Pulso",
    "Consultório Dra Helena Prado",
    "Loja de Informática Byte",
    "Sorveteria Gelato Mio",
    "Assistência Técnica Celular Já",
    "Buffet Festa Feliz",
    "Papelaria Ponto Certo",
    "Vidraçaria Cristal",
    "Hamburgueria Brasa Burger",
    "Estúdio de Tatuagem Tinta Viva",
    "Corretora Seguro Fácil",
    "Barbearia Dom Bigode",
    "Empório Natural Raiz",
    "Imprensa Jornal do Vale",
];

pub(super) const COMPANY_SUFFIXES: [&str; 4] = ["Ltda", "ME", "EIRELI", "Ltda"];

pub(super) const MAIL_HOSTS: [&str; 8] = [
    "gmail.com",
    "hotmail.com",
    "outlook.com",
    "yahoo.com.br",
    "uol.com.br",
    "bol.com.br",
    "terra.com.br",
    "gmail.com",
];

/// Platform staff: (display name, username, role).
pub(super) const STAFF: [(&str, &str, &str); 5] = [
    ("Ricardo Almeida", "ricardo.almeida", "super_admin"),
    ("Juliana Costa", "juliana.costa", "support_agent"),
    ("Beatriz Lima", "beatriz.lima", "support_agent"),
    ("Marcos Nogueira", "marcos.nogueira", "on_call"),
    ("Paulo Henrique Sá", "paulo.sa", "on_call"),
];

/// A reseller tree node: (display name, username, role, parent index in the same list).
pub(super) type ResellerSpec = (&'static str, &'static str, &'static str, Option<usize>);

pub(super) const STREAMMAX_TREE: [ResellerSpec; 15] = [
    ("Nordeste Play Distribuidora", "nordesteplay", "partner", None),
    ("Carlos Menezes (Ultra Fortaleza)", "carlos.menezes", "ultra", Some(0)),
    ("Aline Freitas (Ultra Recife)", "aline.freitas", "ultra", Some(0)),
    ("Pedro Sales (Master Juazeiro)", "pedro.sales", "master", Some(1)),
    ("Luana Teixeira (Master Sobral)", "luana.teixeira", "master", Some(1)),
    ("Bruno Farias (Master Caruaru)", "bruno.farias", "master", Some(2)),
    ("TopTV Revenda — Wesley", "toptv.wesley", "reseller", Some(3)),
    ("Cine+ Revenda — Kelly", "cinemais.kelly", "reseller", Some(3)),
    ("Sobral Play — Diego", "sobralplay.diego", "reseller", Some(4)),
    ("Agreste TV — Mônica", "agrestetv.monica", "reseller", Some(5)),
    ("FlixNordeste — Renan", "flixnordeste.renan", "reseller", Some(5)),
    ("SulStream Parceiros", "sulstream", "partner", None),
    ("Jéssica Prado (Ultra Porto Alegre)", "jessica.prado", "ultra", Some(11)),
    ("Anderson Kuhn (Master Caxias)", "anderson.kuhn", "master", Some(12)),
    ("Serra TV — Maicon", "serratv.maicon", "reseller", Some(13)),
];

pub(super) const ALPHA_TREE: [ResellerSpec; 5] = [
    ("Eduardo Lins (Parceiro Alpha)", "eduardo.lins", "partner", None),
    ("Roberta Campos (Ultra Alpha)", "roberta.campos", "ultra", Some(0)),
    ("Marcos Vinícius (Master Olinda)", "marcos.vinicius", "master", Some(1)),
    ("Olinda Cast — Júnior", "olindacast.junior", "reseller", Some(2)),
    ("Boa Vista Play — Priscila", "boavistaplay.pri", "reseller", Some(2)),
];

/// Hosts customers migrate away from (fictional competitors).
pub(super) const SOURCE_HOSTS: [&str; 6] = [
    "cpanel.antigoprovedor.com.br",
    "srv12.hospedaria.net",
    "br-cp07.webfacil.com.br",
    "server3.hostnordeste.com.br",
    "cp02.sitebarato.com.br",
    "whm.provedorlocal.net.br",
];

/// Replaces Portuguese accents by their base letter (for usernames, e-mails, domains).
pub(super) fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
            'Á' | 'À' | 'Â' | 'Ã' | 'Ä' => 'A',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'É' | 'È' | 'Ê' | 'Ë' => 'E',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'Ó' | 'Ò' | 'Ô' | 'Õ' | 'Ö' => 'O',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'Ú' | 'Ù' | 'Û' | 'Ü' => 'U',
            'ç' => 'c',
            'Ç' => 'C',
            other => other,
        })
        .collect()
}

/// Lower-case ASCII letters and digits only: "Padaria Pão Dourado" → "padariapaodourado".
pub(super) fn compact(s: &str) -> String {
    fold(s)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// CPF check digits (mod 11) over the 9 base digits.
pub(super) fn cpf(base: [u8; 9]) -> String {
    let mut d: Vec<u32> = base.iter().map(|&x| u32::from(x)).collect();
    for len in [9usize, 10] {
        let sum: u32 = d.iter().take(len).enumerate().map(|(i, &x)| x * (len as u32 + 1 - i as u32)).sum();
        let r = (sum * 10) % 11;
        d.push(if r == 10 { 0 } else { r });
    }
    let s: String = d.iter().map(|x| char::from(b'0' + *x as u8)).collect();
    format!("{}.{}.{}-{}", &s[0..3], &s[3..6], &s[6..9], &s[9..11])
}

/// CNPJ check digits over 8 root digits and branch 0001.
pub(super) fn cnpj(root: [u8; 8]) -> String {
    let mut d: Vec<u32> = root.iter().map(|&x| u32::from(x)).collect();
    d.extend([0, 0, 0, 1]);
    for weights in [
        &[5u32, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2][..],
        &[6u32, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2][..],
    ] {
        let sum: u32 = d.iter().zip(weights).map(|(x, w)| x * w).sum();
        let r = sum % 11;
        d.push(if r < 2 { 0 } else { 11 - r });
    }
    let s: String = d.iter().map(|x| char::from(b'0' + *x as u8)).collect();
    format!("{}.{}.{}/{}-{}", &s[0..2], &s[2..5], &s[5..8], &s[8..12], &s[12..14])
}
